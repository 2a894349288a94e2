from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from api import crud
from api.converters import IdConverter
from api.stats import StatsApi
from audiences import apis as audiences
from contacts import apis as contacts
from dwc import apis as dwc
from emails import apis as emails
from tracker import apis as tracker
from video import apis as video
from webhooks import apis as webhooks

register_converter(IdConverter, "id")

v1 = [
    path("contacts/", contacts.ContactListApi.as_view(), name="api-contacts"),
    path(
        "contacts/export.csv",
        contacts.ContactExportCsvApi.as_view(),
        name="api-contacts-export-csv",
    ),
    path("contacts/<id:contact_id>/", contacts.ContactDetailApi.as_view(), name="api-contact"),
    path("contacts/<id:contact_id>/dnc/", contacts.ContactDncApi.as_view(), name="api-dnc"),
    path(
        "contacts/<id:contact_id>/dnc/<str:channel>/",
        contacts.ContactDncRemoveApi.as_view(),
        name="api-dnc-remove",
    ),
    path(
        "contacts/<id:contact_id>/consents/",
        contacts.ContactConsentsApi.as_view(),
        name="api-consents",
    ),
    path(
        "contacts/<id:contact_id>/activity/",
        contacts.ContactActivityApi.as_view(),
        name="api-activity",
    ),
    path(
        "contacts/<id:contact_id>/export/", contacts.ContactExportApi.as_view(), name="api-export"
    ),
    path("contacts/<id:contact_id>/erase/", contacts.ContactEraseApi.as_view(), name="api-erase"),
    path("audiences/", audiences.AudienceListApi.as_view(), name="api-audiences"),
    path("audiences/count/", audiences.AudienceCountApi.as_view(), name="api-audiences-count"),
    path("audiences/<id:audience_id>/", audiences.AudienceDetailApi.as_view(), name="api-audience"),
    path(
        "audiences/<id:audience_id>/contacts/",
        audiences.AudienceContactsApi.as_view(),
        name="api-audience-contacts",
    ),
    path("consent/records/", contacts.ConsentRecordListApi.as_view(), name="api-consent-records"),
    path("forms/", crud.FormListApi.as_view(), name="api-forms"),
    path("forms/<id:pk>/", crud.FormDetailApi.as_view(), name="api-form"),
    path("forms/<id:form_id>/fields/", crud.FieldListApi.as_view(), name="api-form-fields"),
    path("focus/", crud.FocusListApi.as_view(), name="api-focus-items"),
    path("focus/<id:pk>/", crud.FocusDetailApi.as_view(), name="api-focus-item"),
    path("emails/", crud.EmailListApi.as_view(), name="api-emails"),
    path("emails/<id:pk>/", crud.EmailDetailApi.as_view(), name="api-email"),
    path("emails/<id:email_id>/render/", emails.EmailRenderApi.as_view(), name="api-email-render"),
    path("emails/<id:email_id>/send/", emails.EmailSendApi.as_view(), name="api-email-send"),
    path("emails/<id:email_id>/stats/", emails.EmailStatsApi.as_view(), name="api-email-stats"),
    path("assets/", crud.AssetListApi.as_view(), name="api-assets"),
    path("assets/<id:pk>/", crud.AssetDetailApi.as_view(), name="api-asset"),
    path("pages/", crud.PageListApi.as_view(), name="api-pages"),
    path("pages/<id:pk>/", crud.PageDetailApi.as_view(), name="api-page"),
    path("dwc/slots/", dwc.DwcSlotListApi.as_view(), name="api-dwc-slots"),
    path("dwc/slots/<id:pk>/", dwc.DwcSlotDetailApi.as_view(), name="api-dwc-slot"),
    path("dwc/items/", dwc.DwcItemListApi.as_view(), name="api-dwc-items"),
    path("dwc/items/<id:pk>/", dwc.DwcItemDetailApi.as_view(), name="api-dwc-item"),
    path("dwc/variants/", dwc.DwcVariantListApi.as_view(), name="api-dwc-variants"),
    path("dwc/variants/<id:pk>/", dwc.DwcVariantDetailApi.as_view(), name="api-dwc-variant"),
    path("videos/", video.VideoListApi.as_view(), name="api-videos"),
    path("videos/report/", video.VideoReportApi.as_view(), name="api-videos-report"),
    path("videos/<id:pk>/", video.VideoDetailApi.as_view(), name="api-video"),
    path("stats/", StatsApi.as_view(), name="api-stats"),
    path("dead-letters/", tracker.DeadLetterListApi.as_view(), name="api-dead-letters"),
    path(
        "dead-letters/redrive/",
        tracker.DeadLetterRedriveApi.as_view(),
        name="api-dead-letters-redrive",
    ),
    path("webhooks/", webhooks.WebhookListApi.as_view(), name="api-webhooks"),
    path(
        "webhooks/event-types/",
        webhooks.WebhookEventTypesApi.as_view(),
        name="api-webhook-event-types",
    ),
    path(
        "webhooks/deliveries/<id:delivery_id>/",
        webhooks.WebhookDeliveryApi.as_view(),
        name="api-webhook-delivery",
    ),
    path(
        "webhooks/deliveries/<id:delivery_id>/redeliver/",
        webhooks.WebhookRedeliverApi.as_view(),
        name="api-webhook-redeliver",
    ),
    path("webhooks/<id:endpoint_id>/", webhooks.WebhookDetailApi.as_view(), name="api-webhook"),
    path(
        "webhooks/<id:endpoint_id>/test/",
        webhooks.WebhookTestApi.as_view(),
        name="api-webhook-test",
    ),
    path(
        "webhooks/<id:endpoint_id>/deliveries/",
        webhooks.WebhookDeliveriesApi.as_view(),
        name="api-webhook-deliveries",
    ),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    *[path(f"v1/{p.pattern}", p.callback, name=p.name) for p in v1],
]
