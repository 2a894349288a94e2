from django.urls import path

from consent import views

urlpatterns = [
    path("privacy/cookies", views.cookies, name="privacy-cookies"),
    path("privacy/cookies.json", views.cookies_json, name="privacy-cookies-json"),
    path("privacy/choices", views.choices, name="privacy-choices"),
]
