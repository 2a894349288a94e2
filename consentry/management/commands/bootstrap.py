"""First-run setup for a trial: an admin account, the tracked sites TRACKED_SITES names, and a
small demo. Safe to run again.

`make run` runs it on every start. The demo is loaded once: a marker row written in the same
transaction says so, and a later run leaves the demo alone even when the operator changed it
or erased its contact (an erased person must not come back with a fresh consent record).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import IntegrityError, transaction

from consent.models import Purpose
from consent.services import consent_grant
from consentry.models import SetupStep
from consentry.sites import sites_seed
from contacts.services import contact_upsert
from forms.models import Field, FieldType, Form

DEMO = "demo"
DEMO_FORM_FIELDS = (
    # label, alias, type, required, contact field
    ("Email", "email", FieldType.EMAIL, True, "email"),
    ("First name", "first_name", FieldType.TEXT, False, "first_name"),
    ("Yes, you may track my visits to this site", "track", FieldType.TRACKING_CONSENT, False, ""),
    ("Send me the newsletter", "newsletter", FieldType.EMAIL_CONSENT, False, ""),
)


def admin_create() -> str | None:
    """The first superuser, with a random password; returns it, or None if one exists."""
    user_model = get_user_model()
    if user_model.objects.filter(is_superuser=True).exists():
        return None
    password = secrets.token_urlsafe(12)
    user_model.objects.create_superuser("admin", "admin@example.com", password)
    return password


def demo_load() -> Form | None:
    """The demo contact (with a tracking grant) and a demo form; None if loaded before."""
    try:
        with transaction.atomic():
            if SetupStep.objects.filter(name=DEMO).exists():
                return None
            contact = contact_upsert(
                email="ada@example.com", first_name="Ada", last_name="Lovelace"
            )
            consent_grant(contact=contact, purpose=Purpose.TRACKING, source=DEMO)
            form = Form.objects.create(name="Demo: stay in touch", set_cookie_on_submission=True)
            for order, (label, alias, kind, required, contact_field) in enumerate(DEMO_FORM_FIELDS):
                Field.objects.create(
                    form=form,
                    label=label,
                    alias=alias,
                    type=kind,
                    required=required,
                    contact_field=contact_field,
                    order=order,
                )
            # Last, in the same transaction: the demo exists exactly when its marker does.
            SetupStep.objects.create(name=DEMO)
    except IntegrityError:
        # Another bootstrap loaded it at the same moment; this one's rows were rolled back.
        return None
    return form


class Command(BaseCommand):
    help = (
        "Create the admin user (random password, printed once), list the origins TRACKED_SITES "
        "names under Tracked sites, and, once, load the demo data."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        password = admin_create()
        if password is not None:
            self.stdout.write(
                self.style.SUCCESS(
                    "Created the admin user. Log in at /admin/ as admin with password: "
                    f"{password}\n"
                    "This password is shown once; change it after logging in."
                )
            )
        for origin in sites_seed():
            self.stdout.write(f"Tracked sites: added {origin} from TRACKED_SITES.")
        form = demo_load()
        if form is not None:
            self.stdout.write(
                f"Demo loaded: open /demo/ to see the tracker on a page, /form/{form.pk} "
                "for the demo form."
            )
        else:
            self.stdout.write("Demo loaded before: left as it is (it is loaded once).")
