from django.contrib import admin
from django.urls import include, path

from consentry import views
from tracker import views as tracker

urlpatterns = [
    path("mtc.js", tracker.script, name="mtc-js"),
    path("mautic-essential.js", tracker.essential_script, name="mautic-essential-js"),
    path("mautic-tracking.js", tracker.script, name="mautic-tracking-js"),
    path("mtc/event", tracker.event, name="mtc-event"),
    path("mtracking.gif", tracker.pixel, name="mtc-pixel"),
    path("", include("emails.urls")),
    path("", include("forms.urls")),
    path("", include("focus.urls")),
    path("", include("pages.urls")),
    path("", include("dwc.urls")),
    path("", include("video.urls")),
    path("", include("consent.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("demo/", views.demo, name="demo"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
]
