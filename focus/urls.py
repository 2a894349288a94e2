from django.urls import path

from focus import views

urlpatterns = [
    path("focus/<str:focus_id>.js", views.script, name="focus-js"),
    path("focus/<str:focus_id>/viewpixel.gif", views.viewpixel, name="focus-viewpixel"),
    path("focus/<str:focus_id>/display.js", views.display, name="focus-display-js"),
    path("focus/<str:focus_id>/tracking.js", views.tracking, name="focus-tracking-js"),
    path("focus/<str:focus_id>/preview", views.preview, name="focus-preview"),
]
