"""A slot view is a counted kind: through the stream and the drain into PostgreSQL,
reported per day, exported with the contact, on the timeline, and detached on erasure."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from consent import registry
from consentry.kinds import ERASED_DEVICE
from contacts.models import Contact, Device
from contacts.rights import contact_erase, contact_export
from contacts.selectors import contact_activity
from dwc.models import DwcView, Item, Slot, Variant
from tests.support.apiclients import api_client
from tests.support.browsers import consent_cookie, device_cookie
from tests.support.tracking import CHROME
from tracker.drain import events_drain
from tracker.reports import stats_daily

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HOST = "https://www.site.example"


def test_views_are_stored_reported_exported_and_erased_through_the_registry(client, redis_client):
    slot = Slot.objects.create(name="hero")
    item = Item.objects.create(slot=slot, name="All", is_default=True, content="<p>Hi</p>")
    Variant.objects.create(item=item, name="Ada", content="<p>Hi Ada</p>")
    ada = Contact.objects.create(email="ada@example.com")
    Device.objects.create(public_id="dev-ada", contact=ada)

    with override_settings(TRACKED_SITES=[HOST]):
        headers = {"User-Agent": CHROME, "Origin": HOST}
        # Anonymous, then a crawler, then Ada with a grant.
        client.get("/dwc/hero", headers=headers)
        client.get("/dwc/hero", headers={**headers, "User-Agent": "Googlebot/2.1"})
        client.cookies[registry.CONSENT.name] = consent_cookie("g")
        client.cookies[registry.DEVICE.name] = device_cookie("dev-ada")
        assert client.get("/dwc/hero", headers=headers).json() == {"content": "<p>Hi Ada</p>"}
    # Nothing reached the database from the request: the drain stores it.
    assert not DwcView.objects.exists()
    events_drain()
    assert DwcView.objects.count() == 3
    assert DwcView.objects.filter(machine=True).count() == 1

    today = dt.datetime.now(tz=dt.UTC).date()
    (day,) = stats_daily(kind="dwc", start=today, end=today)
    assert (day["views"], day["personalised"], day["identified_views"]) == (2, 1, 1)
    answer = api_client("tracker.view_dailystat").get(f"/api/v1/stats/?kind=dwc&object={slot.pk}")
    assert answer.status_code == 200, answer.content

    (row,) = contact_export(contact=ada)["dwc_views"]
    assert row["slot"] == slot.pk
    assert [a["type"] for a in contact_activity(contact=ada)].count("dwc_view") == 1

    contact_erase(contact=ada)
    assert DwcView.objects.count() == 3
    assert not DwcView.objects.filter(contact__isnull=False).exists()
    # Ada's view now names only the stand-in every erased person shares; the report is as
    # it was.
    held = DwcView.objects.exclude(device=None).values_list("device__public_id", flat=True)
    assert set(held) == {ERASED_DEVICE}
    assert stats_daily(kind="dwc", start=today, end=today) == [day]
