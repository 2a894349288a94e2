"""Asset downloads and landing pages: counted, without cookies unless the gate permits."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from consent import registry
from pages.models import Asset, AssetDownload, LandingPage
from pages.services import asset_upload_check
from pages.views import asset_ct_make
from tests.support.browsers import consent_cookie
from tests.support.emailing import sent_to
from tests.support.forming import form_make
from tests.support.tracking import CHROME, expired, live

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path):
    with override_settings(MEDIA_ROOT=tmp_path / "media", REDIS_URL=None):
        yield


def asset_make(slug="price-list", published=True):
    item = Asset(
        title="Price list",
        slug=slug,
        original_name="prices.pdf",
        content_type="application/pdf",
        published=published,
    )
    item.file.save("prices.pdf", ContentFile(b"%PDF-1.4 prices"), save=False)
    item.save()
    return item


def download(client, path, **headers):
    return client.get(path, headers={"User-Agent": CHROME, **headers})


def test_a_download_is_served_as_an_attachment_counted_and_sets_no_cookie(client):
    item = asset_make()
    client.cookies["mautic_device_id"] = "x"
    response = download(client, "/asset/price-list")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 prices"
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="prices.pdf"' in response["Content-Disposition"]
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert live(response) == {}
    assert "mautic_device_id" in expired(response)
    row = AssetDownload.objects.get()
    assert (row.asset, row.device, row.contact) == (item, None, None)
    # The stored name was generated on the server, and the file stays under the media root.
    assert "prices" not in item.file.name
    assert item.file.name.startswith("assets/")


def test_a_download_is_identified_with_a_grant(client):
    asset_make()
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    response = download(client, "/asset/price-list")
    assert registry.DEVICE.name in live(response)
    assert AssetDownload.objects.get().device is not None


def test_a_signed_ct_identifies_a_consenting_recipient_and_an_unsigned_one_no_one(client):
    asset_make()
    sent = sent_to("ada@example.com", consented=True)
    download(
        client, "/asset/price-list?ct=" + asset_ct_make(slug="price-list", recipient=sent.recipient)
    )
    download(client, f"/asset/price-list?ct={sent.recipient.token}")
    download(
        client, "/asset/price-list?ct=" + asset_ct_make(slug="other-file", recipient=sent.recipient)
    )
    contacts = list(AssetDownload.objects.order_by("id").values_list("contact", flat=True))
    assert contacts == [sent.contact.pk, None, None]


@pytest.mark.parametrize(
    "path",
    [
        "/asset/../../etc/passwd",
        "/asset/price-list.pdf.php",
        "/asset/%2e%2e%2fsecret",
        "/asset/unknown",
        "/asset/Price-List",
        "/asset/price-list/",
        "/asset/" + "a" * 200,
    ],
)
def test_traversal_double_extensions_and_unknown_slugs_are_404(client, path):
    asset_make()
    assert client.get(path).status_code == 404
    assert AssetDownload.objects.count() == 0


def test_an_unpublished_asset_is_404(client):
    asset_make(published=False)
    assert client.get("/asset/price-list").status_code == 404


def test_head_serves_but_counts_nothing(client):
    asset_make()
    assert client.head("/asset/price-list").status_code == 200
    assert AssetDownload.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "size", "error"),
    [
        ("report.pdf.exe", 10, "exactly one extension"),
        ("shell.php", 10, "not accepted"),
        ("page.html", 10, "not accepted"),
        ("image.svg", 10, "not accepted"),
        (".htaccess", 10, "exactly one extension"),
        ("big.pdf", 10**9, "at most"),
    ],
)
def test_uploads_are_limited_in_name_type_and_size(name, size, error):
    upload = SimpleUploadedFile(name, b"x")
    upload.size = size
    with pytest.raises(ValidationError, match=error):
        asset_upload_check(upload=upload)


def test_an_accepted_upload_keeps_its_name_for_the_download_only():
    assert asset_upload_check(upload=SimpleUploadedFile("Prices.PDF", b"x")) == (
        "Prices.PDF",
        "application/pdf",
    )


def page_make(**fields):
    return LandingPage.objects.create(
        **{
            "title": "Autumn",
            "slug": "autumn",
            "published": True,
            "body": "<p>Welcome</p>",
            **fields,
        }
    )


def test_a_landing_page_sets_no_cookie_and_embeds_the_tracker_anonymously(client):
    page_make()
    client.cookies["mtc_id"] = "1"
    response = client.get("/p/autumn")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Welcome" in html
    assert 'data-src="/mtc.js"' in html
    assert live(response) == {}
    assert "mtc_id" in expired(response)
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in html  # no inline script


def test_a_landing_page_pageview_is_counted_like_any_page(client):
    from tests.support.tracking import send
    from tracker.models import AnonymousHit

    page_make()
    send(client, page_url="http://testserver/p/autumn")
    assert AnonymousHit.objects.get().path == "/p/autumn"


@override_settings(TRACKING_MODE="off")
def test_with_tracking_off_a_landing_page_has_no_tracker(client):
    page_make()
    assert b"mtc.js" not in client.get("/p/autumn").content


def test_a_visitor_who_objected_gets_no_tracker(client):
    page_make()
    client.cookies[registry.CONSENT.name] = consent_cookie("o")
    assert b"mtc.js" not in client.get("/p/autumn").content


def test_an_unpublished_page_is_404_except_for_staff(client):
    page_make(published=False)
    assert client.get("/p/autumn").status_code == 404
    client.force_login(User.objects.create_user("staff", password="x", is_staff=True))
    assert client.get("/p/autumn").status_code == 200


def test_page_bodies_are_sanitised(client):
    page_make(
        body='<p onclick="x()">Hi</p><script>alert(1)</script><img src=x onerror=alert(2)>'
        '<a href="javascript:alert(3)">x</a>'
    )
    html = client.get("/p/autumn").content.decode()
    assert "alert(1)" not in html
    assert "onerror" not in html
    assert "onclick" not in html
    assert "javascript:" not in html


def test_a_landing_page_embeds_its_form(client):
    form = form_make()
    page_make(form=form)
    assert f"/form/generate.js?id={form.pk}" in client.get("/p/autumn").content.decode()


def test_an_asset_link_for_a_recipient_kept_after_erasure_names_no_one():
    from contacts.rights import contact_erase

    sent = sent_to("ada@example.com", consented=True)
    contact_erase(contact=sent.contact)
    sent.recipient.refresh_from_db()
    assert sent.recipient.token is None
    assert asset_ct_make(slug="price-list", recipient=sent.recipient) == ""
