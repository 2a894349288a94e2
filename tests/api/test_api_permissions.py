"""Permissions hold on every API operation. The operations are read from the URL conf, not
listed by hand, and each one is held to the matrix below: an operation the matrix does not
declare fails the test, so a new one cannot ship without saying who may call it.

Three personas call every operation: a user with no permission (403; anonymous 401), a user
who may view every model (403 on anything that writes or hands out a contact's tokens, and
no write at all, checked in PostgreSQL's own per-transaction counters), and a user with
exactly the declared permissions (not refused)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile
from django.db import connection
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient
from rest_framework.views import APIView

from audiences.models import Audience
from consent.services import consent_grant
from contacts.models import Contact
from contacts.services import dnc_add
from dwc.models import Item, Slot, Variant
from emails.models import EmailSend, Recipient
from focus.models import FocusItem
from pages.models import Asset, LandingPage
from tests.support.apiclients import api_client
from tests.support.emailing import email_make, sent_to
from tests.support.forming import form_make
from tests.support.tracking import send
from tracker.rollups import rollup_recent
from video.models import Video
from webhooks.services import endpoint_create, endpoint_test_send

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

PUBLIC = None  # anyone, signed in or not: the schema and its docs


def _crud(list_name: str, item_name: str, app: str, model: str) -> dict[tuple[str, str], Any]:
    def perm(action: str) -> tuple[str, ...]:
        return (f"{app}.{action}_{model}",)

    return {
        (list_name, "GET"): perm("view"),
        (list_name, "POST"): perm("add"),
        (item_name, "GET"): perm("view"),
        (item_name, "PUT"): perm("change"),
        (item_name, "PATCH"): perm("change"),
        (item_name, "DELETE"): perm("delete"),
    }


# (URL name, method) -> the permissions it needs. HEAD needs what GET needs; OPTIONS what GET
# needs, or the one other method's when there is no GET.
MATRIX: dict[tuple[str, str], tuple[str, ...] | None] = {
    ("api-schema", "GET"): PUBLIC,
    ("api-docs", "GET"): PUBLIC,
    ("api-contacts", "GET"): ("contacts.view_contact",),
    # A POST with a known email updates that contact.
    ("api-contacts", "POST"): ("contacts.add_contact", "contacts.change_contact"),
    ("api-contacts-export-csv", "GET"): ("contacts.view_contact",),
    ("api-contact", "GET"): ("contacts.view_contact",),
    ("api-contact", "PUT"): ("contacts.change_contact",),
    ("api-contact", "PATCH"): ("contacts.change_contact",),
    ("api-contact", "DELETE"): ("contacts.delete_contact",),  # = erase
    ("api-dnc", "GET"): ("contacts.view_contact", "contacts.view_donotcontact"),
    ("api-dnc", "POST"): ("contacts.add_donotcontact",),
    ("api-dnc-remove", "DELETE"): ("contacts.delete_donotcontact",),
    ("api-consents", "GET"): ("consent.view_consentrecord",),
    ("api-consents", "POST"): ("consent.add_consentrecord",),
    ("api-activity", "GET"): ("contacts.view_contact",),
    # An export is logged as a data-subject request: a write.
    ("api-export", "GET"): ("contacts.view_contact", "contacts.add_datasubjectrequest"),
    ("api-erase", "POST"): ("contacts.delete_contact",),
    ("api-consent-records", "GET"): ("consent.view_consentrecord",),
    **_crud("api-audiences", "api-audience", "audiences", "audience"),
    # A count or a list of the contacts an audience chooses shows contacts.
    ("api-audiences-count", "POST"): ("audiences.view_audience", "contacts.view_contact"),
    ("api-audience-contacts", "GET"): ("audiences.view_audience", "contacts.view_contact"),
    **_crud("api-forms", "api-form", "forms", "form"),
    ("api-form-fields", "GET"): ("forms.view_field",),
    ("api-form-fields", "POST"): ("forms.add_field",),
    **_crud("api-focus-items", "api-focus-item", "focus", "focusitem"),
    **_crud("api-emails", "api-email", "emails", "email"),
    **_crud("api-assets", "api-asset", "pages", "asset"),
    **_crud("api-pages", "api-page", "pages", "landingpage"),
    **_crud("api-dwc-slots", "api-dwc-slot", "dwc", "slot"),
    **_crud("api-dwc-items", "api-dwc-item", "dwc", "item"),
    **_crud("api-dwc-variants", "api-dwc-variant", "dwc", "variant"),
    # The message holds the contact's one-click unsubscribe token: as much as sending.
    ("api-email-render", "POST"): (
        "emails.add_emailsend",
        "emails.view_email",
        "contacts.view_contact",
    ),
    ("api-email-send", "POST"): ("emails.add_emailsend",),
    # Counts only: no recipient, no contact, no token.
    ("api-email-stats", "GET"): ("emails.view_email",),
    ("api-stats", "GET"): ("tracker.view_dailystat",),
    ("api-dead-letters", "GET"): ("tracker.view_deadletter",),
    ("api-dead-letters-redrive", "POST"): ("tracker.change_deadletter",),
    **_crud("api-videos", "api-video", "video", "video"),
    ("api-videos-report", "GET"): ("video.view_videohit",),
    ("api-webhooks", "GET"): ("webhooks.view_endpoint",),
    ("api-webhooks", "POST"): ("webhooks.add_endpoint",),
    ("api-webhook", "GET"): ("webhooks.view_endpoint",),
    ("api-webhook", "PATCH"): ("webhooks.change_endpoint",),
    ("api-webhook", "DELETE"): ("webhooks.delete_endpoint",),
    ("api-webhook-event-types", "GET"): ("webhooks.view_endpoint",),
    # A test event is a delivery of the endpoint's own: managing the endpoint allows it.
    ("api-webhook-test", "POST"): ("webhooks.change_endpoint",),
    ("api-webhook-deliveries", "GET"): ("webhooks.view_delivery",),
    ("api-webhook-delivery", "GET"): ("webhooks.view_delivery",),
    ("api-webhook-redeliver", "POST"): ("webhooks.change_delivery",),
}


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    kwargs: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.name}"


def _patterns(patterns: list[Any]) -> Iterator[URLPattern]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns)
        else:
            yield entry


def _methods(view: type[APIView]) -> list[str]:
    handled = [m.upper() for m in view.http_method_names if m != "options" and hasattr(view, m)]
    # Django answers HEAD with the GET handler; every APIView answers OPTIONS.
    return [*handled, *(["HEAD"] if "GET" in handled else []), "OPTIONS"]


def api_operations() -> list[Operation]:
    """Every operation of every DRF view anywhere in the URL conf."""
    found: dict[tuple[str, str], Operation] = {}
    for pattern in _patterns(get_resolver().url_patterns):
        view = getattr(pattern.callback, "cls", None)
        if not (isinstance(view, type) and issubclass(view, APIView)):
            continue
        assert pattern.name, f"an API route without a name: {pattern.pattern}"
        kwargs = tuple(pattern.pattern.regex.groupindex)
        for method in _methods(view):
            found[(pattern.name, method)] = Operation(pattern.name, method, kwargs)
    return sorted(found.values(), key=str)


OPERATIONS = api_operations()


def required(op: Operation) -> tuple[str, ...] | None:
    """The operation's declared permissions; HEAD and OPTIONS follow from the others."""
    if op.method in ("HEAD", "OPTIONS"):
        declared = [m for (name, m) in MATRIX if name == op.name]
        base = "GET" if "GET" in declared or op.method == "HEAD" else declared[0]
        return MATRIX[(op.name, base)]
    return MATRIX[(op.name, op.method)]


def test_every_api_operation_is_declared_in_the_matrix():
    undeclared = [str(op) for op in OPERATIONS if (op.name, op.method) not in MATRIX]
    undeclared = [u for u in undeclared if not u.startswith(("HEAD ", "OPTIONS "))]
    assert undeclared == [], f"declare who may call these in MATRIX: {undeclared}"
    served = {(op.name, op.method) for op in OPERATIONS}
    assert [key for key in MATRIX if key not in served] == [], "the matrix names gone operations"


@dataclass
class World:
    """Real objects, so that every id in a URL names something. The settings it sets (no
    Redis: hits are written through; uploads under the test's own directory) hold for the
    whole test."""

    ids: dict[str, int]
    token: str  # a recipient's unsubscribe token: what a view-only user must never see


@pytest.fixture
def world(client, tmp_path) -> Iterator[World]:
    with override_settings(REDIS_URL=None, MEDIA_ROOT=tmp_path):
        # Hits of today, so that a read which rolled the day up would write rows.
        send(client)
        sent = sent_to("ada@example.com", consented=True)
        consent_grant(contact=sent.contact, source="form")
        dnc_add(contact=sent.contact, channel="email")
        form = form_make()
        focus = FocusItem.objects.create(name="Sale", headline="Autumn sale")
        asset = Asset.objects.create(title="Prices", slug="prices")
        asset.file.save("prices.pdf", ContentFile(b"%PDF"), save=True)
        page = LandingPage.objects.create(title="Welcome", slug="welcome")
        video = Video.objects.create(name="Intro", url="https://cdn.example.com/intro.mp4")
        slot = Slot.objects.create(name="hero")
        item = Item.objects.create(slot=slot, name="All", is_default=True, content="<p>Hi</p>")
        variant = Variant.objects.create(item=item, name="Ada", content="<p>Hi Ada</p>")
        audience = Audience._default_manager.create(
            name="Opted in", filters={"email_consent": "grant"}
        )
        endpoint = endpoint_create(url="https://crm.example.com/hooks", events=["dnc.added"])
        delivery = endpoint_test_send(endpoint=endpoint)
        ids = {
            "audience_id": audience.pk,
            "contact_id": sent.contact.pk,
            "email_id": sent.email.pk,
            "form_id": form.pk,
            "api-form": form.pk,
            "api-focus-item": focus.pk,
            "api-email": sent.email.pk,
            "api-asset": asset.pk,
            "api-page": page.pk,
            "api-video": video.pk,
            "api-dwc-slot": slot.pk,
            "api-dwc-item": item.pk,
            "api-dwc-variant": variant.pk,
            "endpoint_id": endpoint.pk,
            "delivery_id": delivery.pk,
        }
        assert sent.recipient.token is not None
        yield World(ids=ids, token=sent.recipient.token)


def _url(op: Operation, world: World) -> str:
    values: dict[str, Any] = {}
    for name in op.kwargs:
        if name == "channel":
            values[name] = "email"
        elif name == "pk":
            values[name] = world.ids[op.name]
        else:
            values[name] = world.ids[name]
    url = reverse(op.name, kwargs=values)
    if op.name == "api-email-render" and op.method in ("GET", "HEAD"):
        url += f"?contact={world.ids['contact_id']}"
    return url


def _call(client: APIClient, op: Operation, world: World) -> Any:
    url = _url(op, world)
    if op.method not in ("POST", "PUT", "PATCH"):
        return client.generic(op.method, url)
    body = {"contact": world.ids["contact_id"]} if op.name == "api-email-render" else {}
    return client.generic(op.method, url, json.dumps(body), content_type="application/json")


def _writes() -> dict[str, int]:
    """Rows inserted, updated or deleted so far in this transaction, per table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables"
        )
        return {name: count for name, count in cursor.fetchall() if count}


def _every_view_permission() -> list[str]:
    return [
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(codename__startswith="view_").select_related(
            "content_type"
        )
    ]


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_without_permission_every_operation_is_refused(op, world):
    needs = required(op)
    anonymous = _call(APIClient(), op, world)
    nobody = _call(api_client(), op, world)
    if needs is PUBLIC:
        assert anonymous.status_code == 200
        return
    assert anonymous.status_code == 401
    assert nobody.status_code == 403


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_a_view_only_user_never_writes_nor_sees_a_token(op, world):
    viewer = api_client(*_every_view_permission())
    needs = required(op) or ()
    before = _writes()
    response = _call(viewer, op, world)
    assert _writes() == before, f"{op} wrote rows for a view-only user"
    tokens = [world.token, *Recipient.objects.values_list("token", flat=True)]
    body = (
        b"".join(response.streaming_content)
        if getattr(response, "streaming", False)
        else response.content
    )
    assert not [t for t in tokens if t.encode() in body], f"{op} showed a token"
    if all(perm.split(".")[1].startswith("view_") for perm in needs):
        assert response.status_code < 400, response.content
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_the_declared_permissions_are_enough(op, world):
    response = _call(api_client(*(required(op) or ())), op, world)
    assert response.status_code not in (401, 403), response.content
    assert response.status_code < 500


def test_a_view_only_reader_sees_todays_figures_once_the_scheduler_rolled_them_up(world):
    viewer = api_client("tracker.view_dailystat")
    today = dt.datetime.now(tz=dt.UTC).date().isoformat()

    def hits() -> int:
        stats = viewer.get("/api/v1/stats/", {"kind": "page", "start": today, "end": today})
        return sum(day.get("anonymous_hits", 0) for day in stats.json()["days"])

    assert hits() == 0
    rollup_recent()  # what the scheduler does every five minutes
    assert hits() == 1


def _staff(client: Any, *perms: str) -> Any:
    user = User.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    client.force_login(user)
    return client


ADMIN_VIEWER = ("contacts.view_contact", "emails.view_email")
ADMIN_SENDER = (*ADMIN_VIEWER, "emails.add_emailsend", "contacts.add_contact")


@pytest.mark.parametrize(("perms", "sends"), [(ADMIN_VIEWER, 0), (ADMIN_SENDER, 1)])
def test_only_a_staff_user_who_may_send_can_send_from_the_contacts_admin(client, perms, sends):
    sent = sent_to("ada@example.com", consented=False)
    staff = _staff(client, *perms)
    staff.post(
        "/admin/contacts/contact/",
        {
            "action": "send_email",
            "_selected_action": [sent.contact.pk],
            "email_id": sent.email.pk,
            "confirm": "yes",
        },
    )
    assert EmailSend.objects.filter(external=False).count() == 1 + sends


@pytest.mark.parametrize(("perms", "sends"), [(ADMIN_VIEWER, 0), (ADMIN_SENDER, 1)])
def test_only_a_staff_user_who_may_send_can_send_a_test_from_the_emails_admin(
    client, perms, sends, mailoutbox
):
    email = email_make()
    staff = _staff(client, *perms)
    staff.post("/admin/emails/email/", {"action": "test_send", "_selected_action": [email.pk]})
    assert [m.to for m in mailoutbox] == [["clerk@example.com"]] * sends
    # A test files nothing: no send, no recipient, no contact for the user's address.
    assert EmailSend.objects.filter(email=email).count() == 0
    assert Contact.objects.filter(email="clerk@example.com").count() == 0


@override_settings(REDIS_URL=None)
def test_a_view_only_staff_user_reading_the_reports_writes_nothing(client):
    send(client)  # a hit of today: rolling the day up would write rows
    staff = _staff(client, "tracker.view_dailystat")
    before = _writes()
    assert staff.get(reverse("admin:reports")).status_code == 200
    assert _writes() == before
