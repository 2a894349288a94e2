"""What the benchmark's identified, email, focus and form loads need, made in the bench database.

Run by bench/run.py after `manage.py migrate`, under the same environment as the servers (the
same SECRET_KEY, so the cookies and click tokens minted here verify on the server):

    python -m bench.fixtures OUT.json

Everything is made with the project's own models and functions (the consent and device cookie
writers, the click-token writer), never by imitating their formats, so a change of format in
the product cannot leave the benchmark sending stale values. OUT.json holds the requests the
wrk scripts pick from and the answers the bare Django must give (redirect targets, the form's
success body).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

READERS = 3000  # recipients of the benchmark's email: every open and click is one of theirs
DEVICES = 300  # identified browsers: a granted consent cookie and a device cookie each
LINK_URLS = tuple(f"http://bench.example/offer/{n}" for n in (1, 2, 3))


def form_make() -> int:
    """The benchmark's form: email, first name, message. Returns its id."""
    from forms.models import Field, FieldType, Form

    form = Form.objects.create(name="Contact us", published=True)
    Field.objects.bulk_create(
        [
            Field(
                form=form,
                label="Email",
                alias="email",
                type=FieldType.EMAIL,
                required=True,
                contact_field="email",
                order=1,
            ),
            Field(
                form=form,
                label="First name",
                alias="first_name",
                type=FieldType.TEXT,
                contact_field="first_name",
                order=2,
            ),
            Field(form=form, label="Message", alias="message", type=FieldType.TEXTAREA, order=3),
        ]
    )
    return form.pk


def fixtures_make() -> dict[str, Any]:
    # Imported here: Django must be set up first, and only for this one call.
    from django.conf import settings
    from django.db import transaction
    from django.http import HttpResponse, JsonResponse
    from django.utils import timezone

    from consent import registry
    from consent.cookies import choice_write, device_cookie_value
    from consent.gate import Browser, Choice, device_new_id
    from consent.models import Action, ConsentRecord, Purpose
    from contacts.models import Contact, Device
    from emails.models import Email, EmailSend, Recipient, RecipientStatus, TrackedLink
    from emails.rendering import ct_make
    from focus.models import FocusItem, Frequency, Style
    from forms.models import Form

    now = timezone.now()
    with transaction.atomic():
        contacts = Contact.objects.bulk_create(
            [
                Contact(email=f"reader{n}@bench.example", first_name=f"Reader {n}")
                for n in range(READERS)
            ]
        )
        # Each reader granted tracking, so their opens and clicks are attributed to them (the
        # per-recipient pixel and ct tokens are only honoured under a recorded grant).
        ConsentRecord.objects.bulk_create(
            [
                ConsentRecord(
                    contact=contact,
                    purpose=Purpose.TRACKING,
                    action=Action.GRANT,
                    source="bench",
                    notice_version=settings.CONSENT_NOTICE_VERSION,
                )
                for contact in contacts
            ]
        )

        email = Email.objects.create(
            name="Bench newsletter",
            subject="News from the bench",
            from_email="news@bench.example",
            html="<html><body><p>Hello {contactfield=firstname}</p>"
            + "".join(f'<p><a href="{url}">Offer</a></p>' for url in LINK_URLS)
            + "</body></html>",
        )
        send = EmailSend.objects.create(email=email)
        recipients = Recipient.objects.bulk_create(
            [
                Recipient(
                    send=send,
                    contact=contact,
                    status=RecipientStatus.SENT,
                    tracked=True,
                    sent_at=now,
                )
                for contact in contacts
            ]
        )
        links = [TrackedLink.objects.create(email=email, url=url) for url in LINK_URLS]

        # Identified browsers: readers who granted tracking on the site too, each holding the
        # consent cookie a grant writes and a device cookie tied to them.
        devices = Device.objects.bulk_create(
            [Device(public_id=device_new_id(), contact=contacts[n]) for n in range(DEVICES)]
        )

        item = FocusItem.objects.create(
            name="Bench bar",
            headline="Our spring offer",
            style=Style.BAR_TOP,
            # Every page: no frequency cookie, so every view is one request and one row.
            frequency=Frequency.EVERY_PAGE,
            published=True,
        )

        form = Form.objects.get(pk=form_make())

    issued = int(time.time())
    cookies = []
    for device in devices:
        response = HttpResponse()
        choice_write(
            response,
            Browser(choice=None, device=None, present=frozenset()),
            choice=Choice.GRANTED,
            notice_version=settings.CONSENT_NOTICE_VERSION,
        )
        consent = response.cookies[registry.CONSENT.name].value
        device_value = device_cookie_value(device.public_id, issued)
        cookies.append(f"{registry.CONSENT.name}={consent}; {registry.DEVICE.name}={device_value}")

    # The body the form view answers a fetch (Accept: application/json) with, built as the
    # view builds it: the bare Django answers these very bytes.
    success = JsonResponse({"ok": True, "message": form.success_message, "redirect": None})
    return {
        "identified": cookies,
        "opens": [f"/email/{r.token}.gif" for r in recipients],
        "clicks": [
            f"/r/{link.redirect_id}?ct={ct_make(link=link, recipient=r)}"
            for r, link in ((r, links[n % len(links)]) for n, r in enumerate(recipients))
        ],
        "focus": [f"/focus/{item.pk}/viewpixel.gif"],
        "form": [f"/form/submit?formId={form.pk}"],
        "links": {link.redirect_id: link.url for link in links},
        "form_success": success.content.decode(),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.fixtures OUT.json", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consentry.settings")
    import django

    django.setup()
    Path(argv[1]).write_text(json.dumps(fixtures_make()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
