"""Mautic's form HTML posted unchanged: its `mauticform[...]` names, the messenger answer its
form script reads, its `return` field never trusted as given, and the form's pages and answers
framed by the sites that embed them and by no other."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from contacts.models import Contact
from forms.models import Field, Submission
from tests.support.forming import mautic_form_make
from tests.support.tracking import CHROME

pytestmark = pytest.mark.django_db
SITE = "https://www.example.com"
THANKS = "Thank you, we received your message."


@pytest.fixture(autouse=True)
def embedded():
    with override_settings(REDIS_URL=None, TRACKED_SITES=[SITE], FORM_SUBMIT_LIMIT=1000):
        yield


def post(client, form, *, query=None, origin=SITE, **fields):
    """Mautic's HTML as a browser posts it: every name inside mauticform[...]."""
    data = {"mauticform[formId]": str(form.pk), "mauticform[formName]": "contactus"}
    data.update({f"mauticform[{name}]": value for name, value in fields.items()})
    headers = {"User-Agent": CHROME, **({"Origin": origin} if origin else {})}
    return client.post(
        query if query is not None else f"/form/submit?formId={form.pk}", data, headers=headers
    )


def messenger_json(response) -> dict[str, Any]:
    """The JSON the messenger page hands to the page that framed it."""
    found = re.search(
        r'<script id="mauticform-response" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found, response.content
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def target_origin(response) -> str:
    found = re.search(r'data-target-origin="([^"]*)"', response.content.decode())
    assert found, response.content
    return found.group(1)


def ancestors(response) -> list[str]:
    policy = response["Content-Security-Policy"]
    directive: str = next(d.strip() for d in policy.split(";") if "frame-ancestors" in d)
    return directive.split()[1:]


# Field naming


def test_mautics_field_names_are_stored_under_the_forms_aliases(client):
    form = mautic_form_make()
    response = post(
        client,
        form,
        email="ada@example.com",
        first_name="Ada",
        comments="Hello",
        submit="1",
        **{"topics][": "pricing"},
    )
    assert response.status_code == 200, response.content
    submission = Submission.objects.get(form=form)
    assert submission.data == {
        "email": "ada@example.com",
        "first_name": "Ada",
        "comments": "Hello",
        "topics": ["pricing"],
    }
    assert Contact.objects.get(email="ada@example.com").first_name == "Ada"


def test_the_form_may_be_named_by_its_field_alone_and_not_by_two_different_ids(client):
    form, other = mautic_form_make(), mautic_form_make()
    alone = post(client, form, query="/form/submit", email="a@example.com")
    assert alone.status_code == 200, alone.content
    assert Submission.objects.filter(form=form).count() == 1
    mismatch = client.post(
        f"/form/submit?formId={other.pk}",
        {"mauticform[formId]": str(form.pk), "mauticform[email]": "b@example.com"},
        headers={"Accept": "application/json"},
    )
    assert mismatch.status_code == 400
    assert "mauticform[formId]" in mismatch.json()["detail"]
    assert Submission.objects.count() == 1
    unknown = client.post("/form/submit", {"mauticform[formId]": "999999"})
    assert unknown.status_code == 404
    nameless = client.post("/form/submit", {"mauticform[email]": "c@example.com"})
    assert nameless.status_code == 404


def test_reserved_mautic_names_cannot_become_field_aliases():
    from django.core.exceptions import ValidationError

    form = mautic_form_make()
    for alias in ("return", "formname", "messenger", "submit"):
        with pytest.raises(ValidationError):
            Field(form=form, label="x", alias=alias).full_clean()


# The messenger answer


def test_the_messenger_answer_hands_mautics_json_to_the_framing_page(client):
    form = mautic_form_make()
    response = post(client, form, email="ada@example.com", messenger="1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert messenger_json(response) == {
        "success": 1,
        "successMessage": THANKS,
        "formName": "contactus",
    }
    assert target_origin(response) == SITE
    assert '<script src="messenger.js"' in response.content.decode()
    assert Submission.objects.filter(form=form).count() == 1


def test_the_messenger_answer_names_each_field_in_error_and_stores_nothing(client):
    form = mautic_form_make()
    response = post(client, form, email="not an email", messenger="1")
    assert response.status_code == 400
    answer = messenger_json(response)
    assert answer["success"] == 0
    assert answer["formName"] == "contactus"
    assert set(answer["validationErrors"]) == {"email"}
    assert not Submission.objects.exists()


def test_the_messenger_answer_carries_the_checked_redirect(client):
    form = mautic_form_make(redirect_url=f"{SITE}/thanks")
    answer = messenger_json(post(client, form, email="ada@example.com", messenger="1"))
    assert answer == {"success": 1, "redirect": f"{SITE}/thanks", "formName": "contactus"}


@override_settings(FORM_SUBMIT_LIMIT=1)
def test_a_refusal_without_a_field_is_an_error_message(client):
    form = mautic_form_make()
    assert post(client, form, email="a@example.com", messenger="1").status_code == 200
    limited = post(client, form, email="b@example.com", messenger="1")
    assert limited.status_code == 429
    answer = messenger_json(limited)
    assert answer["success"] == 0
    assert "Too many submissions" in answer["errorMessage"]


def test_mautics_ajax_mode_answers_the_same_json(client):
    form = mautic_form_make()
    ok = post(client, form, query=f"/form/submit?formId={form.pk}&ajax=1", email="a@b.example")
    assert ok.json() == {"success": 1, "successMessage": THANKS, "formName": "contactus"}
    bad = post(client, form, query=f"/form/submit?formId={form.pk}&ajax=1", email="")
    assert bad.status_code == 400
    assert bad.json()["validationErrors"]["email"] == "This field is required."


def test_markup_in_the_form_name_is_never_echoed(client):
    form = mautic_form_make()
    response = post(client, form, email="a@example.com", messenger="1", formName="</script><b>x")
    assert "formName" not in messenger_json(response)
    assert "<b>" not in response.content.decode()


# mauticform[return]


def test_without_script_the_visitor_goes_back_to_an_allowed_return_page(client):
    form = mautic_form_make()
    response = post(client, form, email="a@example.com", **{"return": f"{SITE}/contact?x=1#f"})
    assert response.status_code == 303
    location = urlsplit(response["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "www.example.com",
        "/contact",
    )
    assert parse_qs(location.query) == {"x": ["1"], "mauticMessage": [THANKS]}
    assert location.fragment == "f"


@pytest.mark.parametrize(
    "back",
    [
        "https://evil.example/contact",
        "https://evil.example\\@www.example.com/",
        "//evil.example/",
        "javascript:alert(1)",
        "https://www.example.com.evil.example/",
        "https://www.example.com@evil.example/",
    ],
)
def test_a_return_page_elsewhere_is_never_followed(client, back):
    form = mautic_form_make()
    response = post(client, form, email="a@example.com", **{"return": back})
    assert response.status_code == 200
    assert THANKS in response.content.decode()
    assert Submission.objects.count() == 1
    # Nor does it choose where the messenger answer goes.
    answer = post(
        client, form, origin=None, email="b@example.com", messenger="1", **{"return": back}
    )
    assert target_origin(answer) == "*"


def test_the_forms_own_redirect_wins_over_the_return_page(client):
    form = mautic_form_make(redirect_url=f"{SITE}/thanks")
    response = post(client, form, email="a@example.com", **{"return": f"{SITE}/contact"})
    assert response["Location"] == f"{SITE}/thanks"


def test_an_allowed_return_page_names_the_messenger_target_when_the_browser_did_not(client):
    form = mautic_form_make()
    answer = post(
        client, form, origin=None, email="a@example.com", messenger="1", **{"return": f"{SITE}/c"}
    )
    assert target_origin(answer) == SITE


# Framing


def assert_framed_by_the_sites(response, *extra):
    assert "X-Frame-Options" not in response
    assert sorted(ancestors(response)) == sorted(["'self'", SITE, *extra])
    # Every other directive of the house policy stays.
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "object-src 'none'" in response["Content-Security-Policy"]


def test_the_form_page_and_every_answer_to_it_are_framed_by_the_sites_only(client):
    form = mautic_form_make(
        allowed_origins="https://partner.example\nhttps://bad.example;script-src *",
        redirect_url="",
    )
    partner = "https://partner.example"
    assert_framed_by_the_sites(client.get(f"/form/{form.pk}"), partner)
    thanks = client.post(f"/form/submit?formId={form.pk}", {"email": "a@example.com"})
    assert thanks.status_code == 200
    assert_framed_by_the_sites(thanks, partner)
    errors = client.post(f"/form/submit?formId={form.pk}", {"email": "nope"})
    assert errors.status_code == 400
    assert_framed_by_the_sites(errors, partner)
    messenger = post(client, form, email="b@example.com", messenger="1")
    assert_framed_by_the_sites(messenger, partner)
    form.redirect_url = f"{SITE}/thanks"
    form.save()
    redirect = client.post(f"/form/submit?formId={form.pk}", {"email": "c@example.com"})
    assert redirect.status_code == 303
    assert_framed_by_the_sites(redirect, partner)


def test_another_origin_is_refused_and_other_pages_keep_self(client):
    form = mautic_form_make()
    refused = post(client, form, origin="https://evil.example", email="a@example.com")
    assert refused.status_code == 403
    assert refused["X-Frame-Options"] == "DENY"
    assert not Submission.objects.exists()
    choices = client.get("/privacy/choices")
    assert ancestors(choices) == ["'self'"]
    assert choices["X-Frame-Options"] == "DENY"
    unknown = client.get("/form/999999")
    assert unknown.status_code == 404
    assert unknown["X-Frame-Options"] == "DENY"


# The scripts


def test_the_form_script_is_served_where_mautics_snippet_loads_it(client):
    response = client.get("/media/js/mautic-form.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert "window.MauticSDK = {" in body
    assert "document.cookie" not in body
    assert "Storage" not in body
    assert not response.cookies
    again = client.get("/media/js/mautic-form.js", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304
    messenger = client.get("/form/messenger.js")
    assert messenger.status_code == 200
    assert "postMessage" in messenger.content.decode()


def test_a_framed_form_may_send_its_visitor_on_to_the_forms_redirect_only(client):
    """Browsers hold a form's redirect to the page's form-action: the site's thank-you page
    must be there, and nothing else the operator did not name."""
    form = mautic_form_make(redirect_url=f"{SITE}/thanks")
    policy = client.get(f"/form/{form.pk}")["Content-Security-Policy"]
    form_action = next(d.strip() for d in policy.split(";") if "form-action" in d)
    assert SITE in form_action.split()
    plain = mautic_form_make()
    policy = client.get(f"/form/{plain.pk}")["Content-Security-Policy"]
    assert SITE not in next(d for d in policy.split(";") if "form-action" in d)
