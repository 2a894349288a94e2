from django.urls import path

from dwc import views

urlpatterns = [
    path("mtc-dwc.js", views.script, name="dwc-js"),
    path("dwc", views.batch, name="dwc-batch"),
    path("dwc/<str:slot_name>", views.slot, name="dwc-slot"),
]
