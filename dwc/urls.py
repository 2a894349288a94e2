from django.urls import path

from dwc import views

urlpatterns = [
    path("dwc", views.batch, name="dwc-batch"),
    path("dwc/<str:slot_name>", views.slot, name="dwc-slot"),
]
