from django.urls import path

from pages import views

urlpatterns = [
    path("asset/<str:slug>", views.asset, name="asset"),
    path("p/<str:slug>", views.landing, name="landing"),
]
