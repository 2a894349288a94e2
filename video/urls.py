from django.urls import path

from video import views

urlpatterns = [
    path("video/hit", views.hit, name="video-hit"),
    path("video/gate", views.gate, name="video-gate"),
    path("video/gate.js", views.script, name="video-gate-js"),
]
