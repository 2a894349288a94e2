"""Tokens, their defaults and field names, and the plain-text part, as a recipient reads them."""

from __future__ import annotations

import pytest

from contacts.services import contact_upsert
from emails.models import EmailSend, Recipient
from emails.rendering import message_render, message_sample, text_from_html
from tests.support.emailing import email_make

pytestmark = pytest.mark.django_db


def _sent(contact, **email_fields):
    email = email_make(**email_fields)
    send = EmailSend.objects.create(email=email)
    recipient = Recipient.objects.create(send=send, contact=contact)
    return message_render(recipient=recipient)


def test_an_empty_first_name_takes_the_tokens_default():
    contact = contact_upsert(email="nameless@example.com")
    rendered = _sent(
        contact,
        subject="Hi {contactfield=firstname|friend}",
        html="<html><body><p>Hello {contactfield=firstname|there}!</p></body></html>",
    )
    assert "Hello there!" in rendered.html
    assert "Hello there!" in rendered.text
    assert rendered.subject == "Hi friend"
    assert "contactfield" not in rendered.html + rendered.text


def test_a_filled_field_wins_over_the_default_and_is_escaped_in_html():
    contact = contact_upsert(email="ada@example.com", first_name="<Ada>")
    rendered = _sent(contact, html="<p>Hello {contactfield=firstname|there}!</p>")
    assert "Hello &lt;Ada&gt;!" in rendered.html
    assert "Hello <Ada>!" in rendered.text


def test_a_token_without_default_and_no_value_leaves_nothing():
    contact = contact_upsert(email="nobody@example.com")
    rendered = _sent(contact, html="<p>Hello {contactfield=firstname}!</p>")
    assert "Hello !" in rendered.html


@pytest.mark.parametrize("token", ["firstname", "first_name", "FirstName", "first-name"])
def test_every_spelling_of_a_core_field_fills_it(token):
    contact = contact_upsert(email="grace@example.com", first_name="Grace")
    rendered = _sent(contact, html=f"<p>Hello {{contactfield={token}|there}}</p>")
    assert "Hello Grace" in rendered.html


def test_a_form_field_called_first_name_fills_the_firstname_token():
    # A contact whose name came only through a form's custom field of that name.
    contact = contact_upsert(email="lin@example.com", fields={"first_name": "Lin"})
    rendered = _sent(contact, html="<p>Hello {contactfield=firstname|there}</p>")
    assert "Hello Lin" in rendered.html


@pytest.mark.parametrize(
    ("stored", "token"),
    [
        ("company_name", "company"),
        ("Organisation", "company"),
        ("postcode", "zipcode"),
        ("phone_number", "phone"),
        ("favourite_colour", "favouritecolour"),
    ],
)
def test_custom_fields_answer_to_their_one_name(stored, token):
    contact = contact_upsert(email="kim@example.com", fields={stored: "VALUE"})
    rendered = _sent(contact, html=f"<p>[{{contactfield={token}|none}}]</p>")
    assert "[VALUE]" in rendered.html


def test_the_text_part_keeps_every_links_url():
    text = text_from_html(
        '<html><body><h1>Autumn</h1><p>Our sale. <a href="https://shop.example.com/sale?a=1&amp;b=2">'
        "Shop now</a></p></body></html>"
    )
    assert "Shop now (https://shop.example.com/sale?a=1&b=2)" in text
    assert text.startswith("Autumn\n")


def test_link_texts_no_longer_run_together():
    text = text_from_html(
        '<div><a href="https://a.example.com/">A</a><a href="https://u.example.com/">Unsubscribe</a>'
        "</div><p>one</p><p>two</p><table><tr><td>left</td><td>right</td></tr></table>"
    )
    assert "AUnsubscribe" not in text
    assert "A (https://a.example.com/) Unsubscribe (https://u.example.com/)" in text
    assert "one\n\ntwo" in text
    assert "left right" in text


def test_a_sent_text_part_links_to_each_destination_and_the_unsubscribe_page():
    contact = contact_upsert(email="reader@example.com", first_name="Ada")
    rendered = _sent(contact)
    # The sale link and the web-view link each stand after their text, not glued to it.
    assert "See the sale (http" in rendered.text
    assert "in your browser (http" in rendered.text
    assert "Unsubscribe (http" in rendered.text
    assert "/email/unsubscribe/" in rendered.text
    # The pixel has no text of its own: nothing of it is left in the text part.
    assert ".gif" not in rendered.text


def test_a_link_whose_text_is_its_url_is_not_repeated():
    text = text_from_html(
        '<p><a href="https://shop.example.com/">https://shop.example.com/</a></p>'
    )
    assert text == "https://shop.example.com/"


def test_a_sample_has_no_pixel_nor_tracked_link():
    contact = contact_upsert(email="ada@example.com", first_name="Ada")
    rendered = message_sample(email=email_make(), contact=contact, to="tester@example.org")
    assert "Hello Ada" in rendered.html
    assert 'href="https://shop.example.com/sale?x=1&amp;y=2"' in rendered.html
    assert "/r/" not in rendered.html
    assert ".gif" not in rendered.html
    assert rendered.to == "tester@example.org"
