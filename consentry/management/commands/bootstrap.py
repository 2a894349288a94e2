"""First-run setup for a trial: an admin account and a small demo. Safe to run again."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from consent.models import ConsentRecord, Purpose
from consent.services import consent_grant
from contacts.services import contact_upsert


class Command(BaseCommand):
    help = "Create the admin user (random password, printed once) and the demo data."

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        if not user_model.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            user_model.objects.create_superuser("admin", "admin@example.com", password)
            self.stdout.write(
                self.style.SUCCESS(
                    "Created the admin user. Log in at /admin/ as admin with password: "
                    f"{password}\n"
                    "This password is shown once; change it after logging in."
                )
            )
        contact = contact_upsert(email="ada@example.com", first_name="Ada", last_name="Lovelace")
        if not ConsentRecord.objects.filter(contact=contact, purpose=Purpose.TRACKING).exists():
            consent_grant(contact=contact, source="demo")
        self.stdout.write("Demo loaded: open /demo/ to see the tracker on a page.")
