from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from emails import apis as emails

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "v1/emails/<int:email_id>/render/", emails.EmailRenderApi.as_view(), name="api-email-render"
    ),
    path("v1/emails/<int:email_id>/send/", emails.EmailSendApi.as_view(), name="api-email-send"),
]
