"""A view that tries to write cookies behind the gate's back, for the safety-net test."""

from django.http import HttpRequest, HttpResponse
from django.urls import path


def leaky(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("leak")
    response.set_cookie("consentry_device", "not-from-the-gate")
    response.set_cookie("mautic_device_id", "abc")
    response.set_cookie("some_library_cookie", "1")
    return response


urlpatterns = [
    path("leak", leaky),
    path("admin/leak", leaky),
]
