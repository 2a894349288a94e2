"""Redirects are read the way a browser reads them (consentry.redirects), and every surface that
hands a browser or a script a stored URL hands over that reading, never the stored text.
Chromium's own reading of the same corpus is checked in tests/forms/test_browser_redirects.py."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from consentry.redirects import ANY_ORIGIN, origins_read, redirect_target, url_read
from emails.models import TrackedLink
from forms.models import Form
from tests.support.apiclients import ALL, api_client, model_perms
from tests.support.forming import form_make
from tests.support.redirect_corpus import READINGS, REDIRECTS, fill

OWN = "shop.example"
ALLOWED = frozenset({f"http://{OWN}"})
JSON = {"Accept": "application/json"}
SMUGGLED = "http://evil.example\\@testserver/"


@pytest.mark.parametrize(("stored", "sent"), REDIRECTS)
def test_a_stored_redirect_is_sent_as_the_browser_reads_it_or_not_at_all(stored, sent):
    expected = fill(sent, OWN) if sent is not None else None
    assert redirect_target(fill(stored, OWN), allowed=ALLOWED) == expected


@pytest.mark.parametrize(("raw", "href"), READINGS)
def test_a_url_is_read_with_the_host_a_browser_would_connect_to(raw, href):
    url = url_read(raw)
    assert (url.href if url else None) == href


def test_what_it_returns_reads_back_unchanged():
    for raw in [r for r, _ in READINGS] + [fill(s, OWN) for s, _ in REDIRECTS]:
        url = url_read(raw)
        if url is not None:
            again = url_read(url.href)
            assert again == url, raw


def test_configured_origins_are_compared_as_read():
    allowed = origins_read(["HTTPS://Shop.Example:443", "http://b\u00fccher.example/", "nonsense"])
    assert allowed == {"https://shop.example", "http://xn--bcher-kva.example"}
    assert redirect_target("https://SHOP.example/x", allowed=allowed) == "https://shop.example/x"
    assert redirect_target("http://xn--bcher-kva.example/", allowed=allowed)


def test_any_origin_still_refuses_what_is_no_http_url():
    assert redirect_target("https://evil.example/x", allowed=ANY_ORIGIN) == (
        "https://evil.example/x"
    )
    for raw in ("javascript:alert(1)", "java\nscript:alert(1)", "//evil.example/", "x"):
        assert redirect_target(raw, allowed=ANY_ORIGIN) is None


# The surfaces.


@pytest.fixture
def submitting():
    with override_settings(
        REDIS_URL=None, TRACKED_SITES=["https://www.example.com"], FORM_SUBMIT_LIMIT=1000
    ):
        yield


def _submit(client, form, **headers):
    return client.post(
        f"/form/submit?formId={form.pk}", {"email": "ada@example.com"}, headers=headers
    )


@pytest.mark.django_db
def test_a_form_redirect_smuggling_another_host_behind_a_backslash_is_never_sent(
    client, submitting
):
    # Stored before saving checked it (or straight into the database): still never sent.
    form = form_make(redirect_url=SMUGGLED)
    assert _submit(client, form, **JSON).json()["redirect"] is None
    page = _submit(client, form)
    assert page.status_code == 200
    assert "Location" not in page


@pytest.mark.django_db
def test_the_script_and_the_standalone_page_get_the_same_normalised_url(client, submitting):
    form = form_make(redirect_url="HTTPS://WWW.Example.com:443\\thanks\\.\\?q={x}\t#top")
    expected = "https://www.example.com/thanks/?q={x}#top"
    assert _submit(client, form, **JSON).json()["redirect"] == expected
    page = _submit(client, form)
    assert page.status_code == 303
    assert page["Location"] == expected


@pytest.mark.django_db
def test_the_tracker_host_the_visitor_used_is_an_allowed_redirect(client, submitting):
    form = form_make(redirect_url="http://testserver/thanks")
    assert _submit(client, form, **JSON).json()["redirect"] == "http://testserver/thanks"


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def _admin_save(staff, **values):
    data = {
        "name": "Contact us",
        "published": "on",
        "submit_label": "Submit",
        "success_message": "Thanks",
        "redirect_url": "",
        "allowed_origins": "",
        "fields-TOTAL_FORMS": "1",
        "fields-INITIAL_FORMS": "0",
        "fields-MIN_NUM_FORMS": "0",
        "fields-MAX_NUM_FORMS": "1000",
        "fields-0-label": "Email",
        "fields-0-alias": "email",
        "fields-0-type": "email",
        "fields-0-order": "0",
        **values,
    }
    return staff.post("/admin/forms/form/add/", data)


@pytest.mark.django_db
@override_settings(TRACKED_SITES=["https://www.example.com"])
def test_the_admin_refuses_a_redirect_a_browser_would_read_as_another_host(staff):
    page = _admin_save(staff, redirect_url="https://evil.example\\@www.example.com/")
    assert page.status_code == 200
    assert "no backslash" in page.content.decode()
    page = _admin_save(staff, redirect_url="https://evil.example/@www.example.com/")
    assert "evil.example is none of them" in page.content.decode()
    page = _admin_save(staff, redirect_url="https://user@www.example.com/")
    assert "no user name or password" in page.content.decode()
    assert not Form.objects.exists()


@pytest.mark.django_db
@override_settings(TRACKED_SITES=[])
def test_the_admin_saves_a_redirect_to_an_origin_the_form_allows(staff):
    page = _admin_save(
        staff,
        redirect_url="https://shop.example.com/thanks",
        allowed_origins="https://shop.example.com",
    )
    assert page.status_code == 302
    assert Form.objects.get().redirect_url == "https://shop.example.com/thanks"
    assert (
        "none of them"
        in _admin_save(staff, redirect_url="https://shop.example.com/").content.decode()
    )


@pytest.mark.django_db
@override_settings(TRACKED_SITES=["https://www.example.com"])
def test_the_api_refuses_an_off_site_redirect_with_a_clear_error():
    client = api_client(*model_perms("forms", "form", *ALL))
    refused = client.post(
        "/api/v1/forms/",
        {"name": "Contact", "redirect_url": "https://evil.example/@www.example.com/"},
        format="json",
    )
    assert refused.status_code == 400
    assert "evil.example is none of them" in refused.json()["fields"]["redirect_url"][0]
    ambiguous = client.post(
        "/api/v1/forms/",
        {"name": "Contact", "redirect_url": "https://evil.example\\@www.example.com/"},
        format="json",
    )
    assert "no backslash" in ambiguous.json()["fields"]["redirect_url"][0]
    form = client.post(
        "/api/v1/forms/",
        {"name": "Contact", "redirect_url": "https://www.example.com/thanks"},
        format="json",
    ).json()
    # A change of the allowed origins alone is checked against the stored redirect.
    moved = client.patch(
        f"/api/v1/forms/{form['id']}/",
        {"redirect_url": "https://shop.example.com/thanks"},
        format="json",
    )
    assert moved.status_code == 400
    allowed = client.patch(
        f"/api/v1/forms/{form['id']}/",
        {
            "redirect_url": "https://shop.example.com/thanks",
            "allowed_origins": "https://shop.example.com",
        },
        format="json",
    )
    assert allowed.status_code == 200
    dropped = client.patch(f"/api/v1/forms/{form['id']}/", {"allowed_origins": ""}, format="json")
    assert dropped.status_code == 400
    assert Form.objects.get().allowed_origins == "https://shop.example.com"


@pytest.mark.django_db
def test_an_email_link_goes_off_site_but_only_to_what_the_browser_would_read(client):
    from tests.support.emailing import email_make

    email = email_make()
    smuggled = TrackedLink.objects.create(email=email, url="http://shop.example.com\\@x.example/")
    script = TrackedLink.objects.create(email=email, url="javascript:alert(document.domain)")
    response = client.get(f"/r/{smuggled.redirect_id}")
    assert response.status_code == 302
    assert response["Location"] == "http://shop.example.com/@x.example/"
    assert client.get(f"/r/{script.redirect_id}").status_code == 404


@pytest.mark.parametrize(
    "button_url",
    ["http://evil.example\\@shop.example.com/", "http://user@shop.example.com/", "https://0x7f.1/"],
)
def test_a_focus_button_link_a_browser_would_read_otherwise_is_refused_when_saved(button_url):
    from api.crud import FocusSerializer

    data = {"name": "Bar", "headline": "Sale", "button_url": button_url}
    serializer = FocusSerializer(data=data)
    assert not serializer.is_valid()
    assert "button_url" in serializer.errors
    assert FocusSerializer(data={**data, "button_url": "https://shop.example.com/sale"}).is_valid()
