from django.contrib import admin
from django.urls import path

from consentry import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("demo/", views.demo, name="demo"),
    path("admin/", admin.site.urls),
]
