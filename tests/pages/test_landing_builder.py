"""The landing page builder: published by choice, the slug from the title, a link to the page
on the site, and a proper 'page not found' for visitors."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.views.defaults import server_error

from pages.admin import LandingPageAdmin
from pages.models import LandingPage
from tests.support.tracking import live

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/pages/landingpage/"


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def page_make(**fields):
    return LandingPage.objects.create(
        **{"title": "Autumn offer", "slug": "autumn-offer", "body": "<p>Hi</p>", **fields}
    )


def test_a_new_page_is_unpublished_until_the_operator_ticks_published(staff):
    response = staff.get(f"{CHANGELIST}add/")
    html = response.content.decode()
    checkbox = re.search(r'<input type="checkbox" name="published"[^>]*>', html)
    assert checkbox is not None
    assert "checked" not in checkbox.group(0)
    assert "Visitors can see the page only when this is ticked" in html
    staff.post(f"{CHANGELIST}add/", {"title": "Draft", "slug": "draft", "body": "<p>x</p>"})
    assert LandingPage.objects.get().published is False


def test_every_field_of_the_page_builder_has_help_text(staff):
    form = staff.get(f"{CHANGELIST}add/").context["adminform"].form
    assert set(form.fields) == set(LandingPageAdmin.fields)
    for name, field in form.fields.items():
        assert field.help_text, f"{name} has no help text"


def test_the_slug_is_filled_in_from_the_title(staff):
    # Django's prepopulate script, told to fill the slug from the title (the browser test
    # types a title and reads the slug).
    html = unescape(staff.get(f"{CHANGELIST}add/").content.decode())
    assert "prepopulate.js" in html
    assert '"id": "#id_slug"' in html
    assert '"dependency_ids": ["#id_title"]' in html


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("autumn-offer", "Another landing page already has this slug; choose another."),
        ("Autumn Offer", "Use lower-case letters, digits and single dashes only"),
    ],
)
def test_a_taken_or_malformed_slug_is_refused_with_a_readable_message(staff, slug, message):
    page_make()
    response = staff.post(f"{CHANGELIST}add/", {"title": "Autumn", "slug": slug, "body": ""})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert LandingPage.objects.count() == 1


def test_the_change_list_filters_by_published_and_links_to_each_page(staff):
    page_make()
    page_make(title="Spring", slug="spring", published=True)
    html = staff.get(f"{CHANGELIST}?published__exact=1").content.decode()
    assert "Spring" in html
    assert "Autumn offer" not in html
    assert 'href="/p/spring"' in html
    assert "View on site" in html
    unpublished = staff.get(f"{CHANGELIST}?published__exact=0").content.decode()
    assert 'href="/p/autumn-offer"' in unpublished
    assert "Preview (staff only)" in unpublished


def test_the_change_page_has_a_view_on_site_link(staff):
    page = page_make()
    html = staff.get(f"{CHANGELIST}{page.pk}/change/").content.decode()
    assert "View on site" in html
    # The admin's link goes through its redirect to the page's own address.
    shortcut = staff.get(
        reverse("admin:view_on_site", args=[_content_type(), page.pk]), follow=False
    )
    assert shortcut["Location"].endswith("/p/autumn-offer")


def _content_type() -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(LandingPage).pk


def test_publish_and_unpublish_actions_change_what_visitors_see(staff):
    draft = page_make()
    visitor = Client()
    assert visitor.get("/p/autumn-offer").status_code == 404
    staff.post(CHANGELIST, {"action": "publish", "_selected_action": [draft.pk]})
    assert visitor.get("/p/autumn-offer").status_code == 200
    staff.post(CHANGELIST, {"action": "unpublish", "_selected_action": [draft.pk]})
    assert visitor.get("/p/autumn-offer").status_code == 404


def test_a_staff_member_who_may_only_view_pages_cannot_publish(client):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_landingpage"))
    client.force_login(viewer)
    draft = page_make()
    client.post(CHANGELIST, {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.published is False


@pytest.mark.parametrize("path", ["/p/no-such-page", "/p/autumn-offer", "/nowhere"])
def test_a_visitor_gets_a_proper_page_not_found_without_tracking_or_cookies(client, path):
    page_make()  # unpublished
    client.cookies["mtc_id"] = "1"
    response = client.get(path)
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Page not found</h1>" in html
    assert '<meta name="viewport"' in html
    assert "<script" not in html
    assert live(response) == {}


def test_a_server_error_gets_a_page_in_the_same_look(rf):
    response = server_error(rf.get("/p/autumn-offer"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "<h1>Something went wrong</h1>" in html
    assert '<meta name="viewport"' in html


def test_staff_previewing_a_page_load_no_tracker(staff):
    page_make()
    html = staff.get("/p/autumn-offer").content.decode()
    assert "Autumn offer" in html
    assert "mtc.js" not in html
