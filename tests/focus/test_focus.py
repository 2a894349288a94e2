"""Focus items: shown to everyone, counted without cookies, identified only with a permit,
kept to their frequency by a functional cookie that holds no identifier (RFC Problem 3)."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.core import signing
from django.test import override_settings

from consent import registry
from consent.gate import read_device
from contacts.models import Device
from focus.models import FocusEvent, FocusItem
from forms.models import Submission
from tests.support.browsers import consent_cookie
from tests.support.forming import form_make
from tests.support.tracking import CHROME, live

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def embedded():
    with override_settings(REDIS_URL=None, FORM_SUBMIT_LIMIT=1000):
        yield


def item_make(**fields):
    return FocusItem.objects.create(
        **{
            "name": "Sale bar",
            "headline": "Autumn sale",
            "text": "<p>20% off <strong>everything</strong></p>",
            "button_label": "Shop now",
            "button_url": "https://shop.example.com/sale",
            **fields,
        }
    )


def config(response):
    return json.loads(re.search(r"var c = (\{.*?\});\n", response.content.decode()).group(1))


def view(client, item, **headers):
    return client.get(f"/focus/{item.pk}/viewpixel.gif", headers={"User-Agent": CHROME, **headers})


def test_the_script_shows_the_item_to_a_visitor_without_consent_and_sets_no_cookie(client):
    item = item_make()
    response = client.get(f"/focus/{item.pk}.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "attachShadow" in response.content.decode()
    assert config(response)["headline"] == "Autumn sale"
    assert live(response) == {}
    assert "document.cookie" not in response.content.decode()
    assert "localStorage" not in response.content.decode()


def test_the_view_pixel_counts_anonymously_and_writes_only_the_frequency_cookie(client):
    item = item_make(frequency="once")
    response = view(client, item)
    assert response["Content-Type"] == "image/gif"
    name = registry.FOCUS.named(item.pk)
    assert set(live(response)) == {name}
    assert response.cookies[name]["httponly"]
    event = FocusEvent.objects.get()
    assert (event.kind, event.device, event.contact, event.machine) == ("view", None, None, False)
    # The frequency cookie holds a time, nothing that identifies anyone.
    data = signing.loads(live(response)[name], salt=f"{registry.FOCUS.salt}.{item.pk}")
    assert set(data) == {"t", "i"}


def test_an_item_shown_on_every_page_needs_no_cookie(client):
    assert live(view(client, item_make(frequency="every_page"))) == {}


def test_two_items_shown_at_once_both_keep_their_frequency(client):
    first, second = item_make(frequency="once"), item_make(frequency="once")
    # Both view pixels leave with the same (empty) cookie jar, as two images on one page do.
    answers = [view(client, first), view(client, second)]
    client.cookies.clear()
    for answer in answers:
        for name, value in live(answer).items():
            client.cookies[name] = value
    for item in (first, second):
        assert "var c =" not in client.get(f"/focus/{item.pk}.js").content.decode()


def test_after_a_grant_the_view_is_identified(client):
    item = item_make()
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    response = view(client, item)
    assert registry.DEVICE.name in live(response)
    assert FocusEvent.objects.get().device is not None


@pytest.mark.parametrize(
    ("frequency", "due_again"),
    [("once", False), ("every_page", True), ("daily", False), ("minutes", False)],
)
def test_frequency_holds_across_page_loads(client, frequency, due_again):
    item = item_make(frequency=frequency, frequency_minutes=30)
    assert "var c =" in client.get(f"/focus/{item.pk}.js").content.decode()
    view(client, item)
    again = client.get(f"/focus/{item.pk}.js").content.decode()
    assert ("var c =" in again) is due_again
    other = item_make(frequency="once")
    assert "var c =" in client.get(f"/focus/{other.pk}.js").content.decode()


@override_settings(FOCUS_FREQUENCY_COOKIE=False)
def test_the_frequency_cookie_can_be_switched_off(client):
    item = item_make(frequency="once")
    assert live(view(client, item)) == {}


def test_the_frequency_cookie_cannot_be_forged_or_moved_to_another_item(client):
    item = item_make(frequency="once")
    other = item_make(frequency="once")
    client.cookies[registry.FOCUS.named(item.pk)] = json.dumps({"t": 1, "i": 1})
    assert "var c =" in client.get(f"/focus/{item.pk}.js").content.decode()
    shown = live(view(client, other))[registry.FOCUS.named(other.pk)]
    client.cookies[registry.FOCUS.named(item.pk)] = shown  # another item's signed value
    assert "var c =" in client.get(f"/focus/{item.pk}.js").content.decode()


def test_the_button_is_a_tracked_link_whose_click_is_a_conversion(client):
    item = item_make()
    href = config(client.get(f"/focus/{item.pk}.js"))["href"]
    assert re.search(r"/r/[\w-]+$", href)
    response = client.get(href.replace("http://127.0.0.1:8000", ""), headers={"User-Agent": CHROME})
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.com/sale"
    assert FocusEvent.objects.get().kind == "conversion"
    assert live(response) == {}


def test_a_form_opened_from_a_focus_item_counts_a_conversion(client):
    form = form_make()
    item = item_make(button_url="", form=form)
    script_url = config(client.get(f"/focus/{item.pk}.js"))["form"]
    assert f"focus={item.pk}" in script_url
    embed = client.get(script_url.replace("http://127.0.0.1:8000", "")).content.decode()
    assert f'name=\\"cs_focus\\" value=\\"{item.pk}\\"' in embed
    client.post(
        f"/form/submit?formId={form.pk}",
        {"email": "a@example.com", "cs_focus": str(item.pk)},
        headers={"Accept": "application/json", "User-Agent": CHROME},
    )
    assert Submission.objects.count() == 1
    assert FocusEvent.objects.get().kind == "conversion"


@pytest.mark.parametrize("kiosk", [False, True])
def test_a_conversion_from_a_form_is_tied_to_the_device_the_browser_keeps_and_none_on_a_kiosk(
    client, kiosk
):
    form = form_make(set_cookie_on_submission=True)
    item = item_make(button_url="", form=form)
    fields = {"email": "a@example.com", "cs_focus": str(item.pk)}
    if kiosk:
        fields["kiosk"] = "1"
    with override_settings(TRACKING_MODE="always"):
        response = client.post(
            f"/form/submit?formId={form.pk}",
            fields,
            headers={"Accept": "application/json", "User-Agent": CHROME},
        )
    conversion = FocusEvent.objects.get()
    if kiosk:
        assert registry.DEVICE.name not in live(response)
        assert (conversion.device, Device.objects.count()) == (None, 0)
    else:
        kept = read_device(live(response)[registry.DEVICE.name], int(time.time()))
        assert kept is not None
        assert conversion.device == Device.objects.get(public_id=kept.device_id)
        assert conversion.contact == Submission.objects.get().contact


def test_admin_html_is_sanitised_and_text_cannot_break_out(client):
    item = item_make(
        headline='</script><script>alert("h")</script>',
        text='<p onclick="x()">Hi <img src=x onerror=alert(1)><script>alert(2)</script>'
        '<a href="javascript:alert(3)">bad</a> <a href="https://ok.example">ok</a></p>',
    )
    body = client.get(f"/focus/{item.pk}.js").content.decode()
    assert "</script>" not in body
    text = config(client.get(f"/focus/{item.pk}.js"))["text"]
    assert "onclick" not in text
    assert "onerror" not in text
    assert "<img" not in text
    assert "<script" not in text
    assert "javascript:" not in text
    assert 'href="https://ok.example"' in text


def test_unpublished_and_unknown_items_are_404(client):
    item = item_make(published=False)
    assert client.get(f"/focus/{item.pk}.js").status_code == 404
    assert client.get(f"/focus/{item.pk}/viewpixel.gif").status_code == 404
    assert client.get("/focus/../../etc/passwd.js").status_code == 404
    assert client.get(f"/focus/{item.pk}/preview").status_code == 404


def test_an_item_unpublished_in_the_admin_stops_counting_views_within_seconds(client, monkeypatch):
    import focus.selectors

    monkeypatch.setattr(focus.selectors, "FREQUENCY_TTL_S", 0.2)  # seconds, made short
    item = item_make()
    assert client.get(f"/focus/{item.pk}/viewpixel.gif").status_code == 200
    FocusItem.objects.filter(pk=item.pk).update(published=False)  # another worker's admin
    time.sleep(0.25)
    assert client.get(f"/focus/{item.pk}/viewpixel.gif").status_code == 404


@override_settings(TRACKING_MODE="off")
def test_with_tracking_off_the_item_still_shows_but_nothing_is_counted(client):
    item = item_make()
    assert "var c =" in client.get(f"/focus/{item.pk}.js").content.decode()
    view(client, item)
    assert FocusEvent.objects.count() == 0


def test_crawlers_views_are_machines(client):
    item = item_make()
    view(client, item, **{"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
    assert FocusEvent.objects.get().machine is True
