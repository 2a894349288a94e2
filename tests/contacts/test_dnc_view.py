"""The Do-Not-Contact view each web process keeps (contacts/dnc_view.py): an identified hit asks
no database, and a change made anywhere (another process, plain SQL, a cascade) is honoured
within milliseconds of its commit, because PostgreSQL tells the listener."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from consent.gate import device_new_id
from contacts.dnc_view import APPLICATION_NAME, dnc_view
from contacts.models import Channel, Contact, Device
from contacts.selectors import device_is_dnc
from contacts.services import dnc_add

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# What the tests allow for a notice to reach the listener and be applied (measured: a few ms).
DELAY_S = 2.0


@pytest.fixture
def view() -> Iterator[None]:
    with override_settings(DNC_LISTEN=True):
        device_is_dnc(public_id="warm-up")  # starts the listener
        assert _until(lambda: dnc_view._ready), "the view never read its copy"
        yield
        dnc_view.stop()


def _until(predicate, timeout: float = DELAY_S) -> float | None:
    """Seconds until the predicate held, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.002)
    return None


def _elsewhere(sql: str, *params: object) -> None:
    """A write by another process: its own connection, committed, no service involved."""
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"], autocommit=True
    ) as conn:
        conn.execute(sql, params)


def _device(contact: Contact | None) -> str:
    return Device.objects.create(public_id=device_new_id(), contact=contact).public_id


def _asked_nothing(public_id: str) -> bool:
    with CaptureQueriesContext(connection) as queries:
        answer = device_is_dnc(public_id=public_id)
    assert len(queries) == 0, [q["sql"] for q in queries]
    return answer


def test_a_do_not_contact_added_or_lifted_elsewhere_is_honoured_within_milliseconds(view):
    ada = Contact.objects.create(email="ada@example.com")
    device = _device(ada)
    assert _asked_nothing(device) is False
    _elsewhere(
        "INSERT INTO contacts_donotcontact (contact_id, channel, reason, comment, created_at)"
        " VALUES (%s, 'email', 'manual', '', now())",
        ada.pk,
    )
    took = _until(lambda: _asked_nothing(device))
    assert took is not None, "a Do-Not-Contact added elsewhere was not honoured"
    _elsewhere("DELETE FROM contacts_donotcontact WHERE contact_id = %s", ada.pk)
    assert _until(lambda: not _asked_nothing(device)) is not None


def test_devices_tied_moved_and_deleted_elsewhere_follow_their_contact(view):
    barred = Contact.objects.create(email="barred@example.com")
    free = Contact.objects.create(email="free@example.com")
    dnc_add(contact=barred, channel=Channel.EMAIL)
    loose = _device(None)
    assert _asked_nothing(loose) is False
    _elsewhere("UPDATE contacts_device SET contact_id = %s WHERE public_id = %s", barred.pk, loose)
    assert _until(lambda: _asked_nothing(loose)) is not None
    _elsewhere("UPDATE contacts_device SET contact_id = %s WHERE public_id = %s", free.pk, loose)
    assert _until(lambda: not _asked_nothing(loose)) is not None
    new = device_new_id()
    _elsewhere(
        "INSERT INTO contacts_device (public_id, contact_id, browser_key, created_at)"
        " VALUES (%s, %s, '', now())",
        new,
        barred.pk,
    )
    assert _until(lambda: _asked_nothing(new)) is not None
    # An erased contact: the cascade removes its devices and entries, and the view with them.
    _elsewhere("DELETE FROM contacts_donotcontact WHERE contact_id = %s", barred.pk)
    _elsewhere("DELETE FROM contacts_device WHERE contact_id = %s", barred.pk)
    assert _until(lambda: not _asked_nothing(new)) is not None
    assert new not in dnc_view._devices


def test_the_process_that_adds_a_do_not_contact_honours_it_at_once(view):
    ada = Contact.objects.create(email="ada@example.com")
    device = _device(ada)
    assert _asked_nothing(device) is False
    dnc_add(contact=ada, channel=Channel.TRACKING)
    assert _asked_nothing(device) is True  # no wait: read again on its own commit


def test_a_lost_connection_loses_no_change(view):
    ada = Contact.objects.create(email="ada@example.com")
    device = _device(ada)
    assert _asked_nothing(device) is False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [APPLICATION_NAME],
        )
        assert cursor.fetchone() is not None
    # Written while no one listens: the notice is lost, so the listener must read it again.
    _elsewhere(
        "INSERT INTO contacts_donotcontact (contact_id, channel, reason, comment, created_at)"
        " VALUES (%s, 'sms', 'manual', '', now())",
        ada.pk,
    )
    # Meanwhile the gate asks the database, and gets the right answer.
    assert device_is_dnc(public_id=device) is True
    assert _until(lambda: dnc_view._ready and _asked_nothing(device), timeout=10.0) is not None


def test_the_pixel_of_a_browser_whose_contact_is_barred_elsewhere_is_not_identified(
    view, client, redis_client
):
    from consent import registry
    from tests.support.browsers import consent_cookie, device_cookie
    from tests.support.tracking import CHROME
    from tracker.drain import events_drain
    from tracker.models import AnonymousHit, PageHit

    ada = Contact.objects.create(email="ada@example.com")
    device = _device(ada)
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    client.cookies[registry.DEVICE.name] = device_cookie(device)
    page = {"page_url": "http://testserver/pricing"}
    assert client.get("/mtracking.gif", page, headers={"User-Agent": CHROME}).status_code == 200
    _elsewhere(
        "INSERT INTO contacts_donotcontact (contact_id, channel, reason, comment, created_at)"
        " VALUES (%s, 'email', 'manual', '', now())",
        ada.pk,
    )
    assert _until(lambda: _asked_nothing(device)) is not None
    response = client.get("/mtracking.gif", page, headers={"User-Agent": CHROME})
    # Refused: the device cookie is expired, and the hit is counted without the person.
    assert response.cookies[registry.DEVICE.name]["max-age"] == 0
    events_drain()
    assert PageHit.objects.filter(contact=ada).count() == 1
    assert AnonymousHit.objects.count() == 1
