"""The contact events of the writers that do not go through the services one contact at a
time: the CSV import (bulk, and its events in one go) and the admin's contact editor with its
Do-Not-Contact rows. A CRM hears of every contact created or changed there, as it does of the
API's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.imports import ImportReport, contacts_import
from contacts.models import Contact, DoNotContact
from contacts.services import contact_upsert
from webhooks.events import event_types
from webhooks.models import WebhookEvent
from webhooks.services import _subscribers, endpoint_create

pytestmark = [pytest.mark.django_db]

HEADER = (
    "email,firstname,lastname,city,consent_purpose,consent_action,consent_at,consent_source,"
    "consent_notice,dnc_email\n"
)
FILE = HEADER + (
    "ada@example.com,Ada,Lovelace,London,email,granted,2023-01-02T10:00:00Z,mautic-form,2022-11,0\n"
    "grace@example.com,Grace,Hopper,,email,withdrawn,2023-03-01,,,yes\n"
    "alan@example.com,Alan,Turing,Wilmslow,,,,,,yes\n"
    "kept@example.com,Kept,As Is,,,,,,,\n"
)


def _import(text: str, **options: Any) -> ImportReport:
    return contacts_import(data=text.encode(), file_name="crm.csv", **options)


def subscribe(events: list[str] | None = None) -> None:
    endpoint_create(url="https://crm.example.com/hooks", events=events or list(event_types()))


Sent = tuple[str, int | None, dict[str, Any]]


def in_order(events: list[Sent]) -> list[Sent]:
    return sorted(events, key=lambda e: (e[0], e[1] or 0, str(e[2])))


def sent() -> list[Sent]:
    """The events queued, by type and contact."""
    return in_order([(e.type, e.contact_id, e.data) for e in WebhookEvent.objects.all()])


def consent(tracking: str = "none", email: str = "none", dnc: tuple[str, ...] = ()) -> Any:
    return {"tracking": tracking, "email": email, "do_not_contact": list(dnc)}


def contact(email: str) -> dict[str, Any]:
    c = Contact.objects.get(email=email)
    return {
        "id": c.pk,
        "email": c.email,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "fields": c.fields,
    }


@pytest.fixture
def known() -> tuple[Contact, Contact]:
    """Two contacts the CRM already knows (made before any endpoint, so sending nothing):
    one the file changes, one it repeats as is."""
    alan = contact_upsert(email="alan@example.com", first_name="Al", last_name="Turing")
    kept = contact_upsert(email="kept@example.com", first_name="Kept", last_name="As Is")
    return alan, kept


def test_an_import_sends_each_created_changed_consent_and_dnc_event_with_the_state_after_it(
    known: tuple[Contact, Contact],
) -> None:
    alan, _ = known
    subscribe()
    report = _import(FILE)
    assert (report.created, report.updated, report.unchanged) == (2, 1, 1)
    ada, grace = (
        Contact.objects.get(email="ada@example.com"),
        Contact.objects.get(email="grace@example.com"),
    )
    ada_state = consent(email="granted")
    grace_state = consent(email="withdrawn", dnc=("email",))
    alan_state = consent(dnc=("email",))
    assert sent() == in_order(
        [
            (
                "consent.changed",
                ada.pk,
                {
                    "contact": {"id": ada.pk},
                    "purpose": "email",
                    "action": "grant",
                    "source": "mautic-form",
                    "notice_version": "2022-11",
                    "consent": ada_state,
                },
            ),
            (
                "consent.changed",
                grace.pk,
                {
                    "contact": {"id": grace.pk},
                    "purpose": "email",
                    "action": "withdraw",
                    "source": "import",
                    "notice_version": "",
                    "consent": grace_state,
                },
            ),
            (
                "contact.created",
                ada.pk,
                {"contact": contact("ada@example.com"), "consent": ada_state},
            ),
            (
                "contact.created",
                grace.pk,
                {"contact": contact("grace@example.com"), "consent": grace_state},
            ),
            (
                "contact.updated",
                alan.pk,
                {"contact": contact("alan@example.com"), "consent": alan_state},
            ),
            (
                "dnc.added",
                alan.pk,
                {
                    "contact": {"id": alan.pk},
                    "channel": "email",
                    "reason": "manual",
                    "consent": alan_state,
                },
            ),
            (
                "dnc.added",
                grace.pk,
                {
                    "contact": {"id": grace.pk},
                    "channel": "email",
                    "reason": "manual",
                    "consent": grace_state,
                },
            ),
        ]
    )
    assert contact("alan@example.com")["first_name"] == "Alan"
    assert contact("alan@example.com")["fields"] == {"city": "Wilmslow"}
    # Each was queued for the endpoint, to go out with the import's commit.
    assert all(e.deliveries.count() == 1 for e in WebhookEvent.objects.all())


def test_the_same_import_run_again_sends_nothing_twice_and_a_later_change_is_sent(
    known: tuple[Contact, Contact],
) -> None:
    subscribe()
    run = uuid.uuid4()
    _import(FILE, run_id=run)
    first = sorted(WebhookEvent.objects.values_list("id", flat=True))
    assert len(first) == 7
    _import(FILE, run_id=run)  # the task retried
    _import(FILE)  # the file uploaded again
    assert sorted(WebhookEvent.objects.values_list("id", flat=True)) == first
    # Another run that changes the contact again is news: a contact.updated of its own.
    _import("email,firstname\nalan@example.com,Alan M.\n")
    updates = WebhookEvent.objects.filter(type="contact.updated").order_by("created_at")
    assert [e.data["contact"]["first_name"] for e in updates] == ["Alan", "Alan M."]


def test_a_dry_run_an_inactive_endpoint_or_another_subscription_sends_nothing(
    known: tuple[Contact, Contact],
) -> None:
    _import(FILE, dry_run=True)
    endpoint_create(url="https://off.example.com/hooks", events=list(event_types()), active=False)
    subscribe(["form.submitted", "contact.erased"])
    _import(FILE)
    assert Contact.objects.count() == 4
    assert not WebhookEvent.objects.exists()


def test_only_the_types_an_endpoint_subscribes_to_are_sent(known: tuple[Contact, Contact]) -> None:
    subscribe(["dnc.added"])
    _import(FILE)
    assert sorted(WebhookEvent.objects.values_list("type", flat=True)) == ["dnc.added"] * 2


def _rows(n: int, start: int = 0) -> str:
    return HEADER + "".join(
        f"p{i}@example.com,P{i},Q,Town,email,granted,2023-01-02,form,v1,yes\n"
        for i in range(start, start + n)
    )


def _queries(text: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        report = _import(text)
    assert report.refused == 0
    return len(queries)


def test_an_import_reads_no_more_for_more_rows_whether_or_not_an_endpoint_listens() -> None:
    # Without an endpoint: nothing per row (the process's copy of the endpoints is read once).
    _subscribers()
    few, many = _queries(_rows(3)), _queries(_rows(30, start=100))
    assert few == many
    # With one: the events of a batch are built and queued in one go.
    subscribe()
    _subscribers()
    few_heard, many_heard = _queries(_rows(3, start=200)), _queries(_rows(30, start=300))
    assert few_heard == many_heard
    assert WebhookEvent.objects.filter(type="contact.created").count() == 33
    assert WebhookEvent.objects.count() == 33 * 3


# The admin's contact editor.

ADD = "/admin/contacts/contact/add/"


@pytest.fixture
def staff(client: Any) -> Any:
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def change(c: Contact) -> str:
    return f"/admin/contacts/contact/{c.pk}/change/"


def page(
    email: str, first: str = "", last: str = "", dnc: list[dict[str, str]] | None = None
) -> dict[str, str]:
    """The editor's form as the page sends it, with its Do-Not-Contact rows."""
    dnc = dnc or []
    data = {
        "email": email,
        "first_name": first,
        "last_name": last,
        "dnc_entries-TOTAL_FORMS": str(len(dnc)),
        "dnc_entries-INITIAL_FORMS": str(sum(1 for row in dnc if row.get("id"))),
        "consent_records-TOTAL_FORMS": "0",
        "consent_records-INITIAL_FORMS": "0",
    }
    for i, row in enumerate(dnc):
        data.update({f"dnc_entries-{i}-{k}": v for k, v in row.items()})
    return data


def test_a_contact_added_in_the_admin_is_sent_with_its_dnc_rows(staff: Any) -> None:
    subscribe()
    response = staff.post(
        ADD,
        page(
            "ada@example.com",
            "Ada",
            "Lovelace",
            dnc=[{"id": "", "channel": "sms", "reason": "complained", "comment": "by phone"}],
        ),
    )
    assert response.status_code == 302
    ada = Contact.objects.get(email="ada@example.com")
    assert sent() == [
        (
            "contact.created",
            ada.pk,
            {"contact": contact("ada@example.com"), "consent": consent()},
        ),
        (
            "dnc.added",
            ada.pk,
            {
                "contact": {"id": ada.pk},
                "channel": "sms",
                "reason": "complained",
                "consent": consent(dnc=("sms",)),
            },
        ),
    ]
    assert contact("ada@example.com")["first_name"] == "Ada"


def test_a_contact_changed_in_the_admin_is_sent_and_a_save_that_changes_nothing_is_not(
    staff: Any,
) -> None:
    ada = contact_upsert(email="ada@example.com", first_name="Ada", fields={"city": "Oslo"})
    subscribe()
    unchanged = {**page("ada@example.com", "Ada"), "custom__city": "Oslo"}
    assert staff.post(change(ada), unchanged).status_code == 302
    assert not WebhookEvent.objects.exists()

    staff.post(change(ada), {**page("ada@example.com", "Ada", "King"), "custom__city": ""})
    updated = list(WebhookEvent.objects.filter(type="contact.updated"))
    assert len(updated) == 1
    assert updated[0].contact_id == ada.pk
    assert updated[0].data == {
        "contact": {
            "id": ada.pk,
            "email": "ada@example.com",
            "first_name": "Ada",
            "last_name": "King",
            "fields": {},
        },
        "consent": consent(),
    }


def test_dnc_rows_added_moved_and_removed_in_the_admin_are_sent(staff: Any) -> None:
    ada = contact_upsert(email="ada@example.com", first_name="Ada")
    subscribe()
    row = {"contact": str(ada.pk), "reason": "manual", "comment": ""}
    staff.post(
        change(ada), page("ada@example.com", "Ada", dnc=[{**row, "id": "", "channel": "email"}])
    )
    entry = DoNotContact.objects.get(contact=ada)
    # The comment alone changes: nothing a CRM hears of.
    staff.post(
        change(ada),
        page(
            "ada@example.com",
            "Ada",
            dnc=[{**row, "id": str(entry.pk), "channel": "email", "comment": "asked by phone"}],
        ),
    )
    staff.post(
        change(ada),
        page("ada@example.com", "Ada", dnc=[{**row, "id": str(entry.pk), "channel": "sms"}]),
    )
    staff.post(
        change(ada),
        page(
            "ada@example.com",
            "Ada",
            dnc=[{**row, "id": str(entry.pk), "channel": "sms", "DELETE": "on"}],
        ),
    )
    assert not DoNotContact.objects.filter(contact=ada).exists()
    assert [(e.type, e.data) for e in WebhookEvent.objects.order_by("created_at")] == [
        (
            "dnc.added",
            {
                "contact": {"id": ada.pk},
                "channel": "email",
                "reason": "manual",
                "consent": consent(dnc=("email",)),
            },
        ),
        (
            "dnc.removed",
            {"contact": {"id": ada.pk}, "channel": "email", "consent": consent(dnc=("sms",))},
        ),
        (
            "dnc.added",
            {
                "contact": {"id": ada.pk},
                "channel": "sms",
                "reason": "manual",
                "consent": consent(dnc=("sms",)),
            },
        ),
        ("dnc.removed", {"contact": {"id": ada.pk}, "channel": "sms", "consent": consent()}),
    ]
