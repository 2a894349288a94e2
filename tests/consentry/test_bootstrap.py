"""`make run` runs the first-run setup on every start: the demo is loaded once, and what the
operator changed or erased in it stays that way."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from consent.models import ConsentRecord
from contacts.models import Contact
from contacts.rights import contact_erase
from forms.models import Form

pytestmark = pytest.mark.django_db

DEMO_EMAIL = "ada@example.com"


@pytest.fixture(autouse=True)
def _embedded_default(settings):
    # `make run` has no Redis: erasure and everything else run in-process.
    settings.REDIS_URL = None


def _bootstrap() -> str:
    out = StringIO()
    call_command("bootstrap", stdout=out)
    return out.getvalue()


def _demo_consent() -> int:
    return ConsentRecord.objects.filter(source="demo").count()


def test_the_first_run_loads_the_demo_contact_its_consent_and_a_demo_form():
    output = _bootstrap()
    contact = Contact.objects.get(email=DEMO_EMAIL)
    assert ConsentRecord.objects.filter(contact=contact, source="demo").count() == 1
    form = Form.objects.get()
    assert f"/form/{form.pk}" in output
    assert [f.alias for f in form.fields.all()] == ["email", "first_name", "track", "newsletter"]


def test_an_erased_demo_contact_does_not_come_back_on_the_next_start():
    _bootstrap()
    contact_erase(contact=Contact.objects.get(email=DEMO_EMAIL), requested_by="operator")
    assert _demo_consent() == 0

    _bootstrap()
    _bootstrap()

    assert not Contact.objects.filter(email__iexact=DEMO_EMAIL).exists()
    assert _demo_consent() == 0
    assert not ConsentRecord.objects.filter(contact__isnull=False).exists()


def test_a_renamed_demo_form_keeps_its_name_and_no_second_form_appears():
    _bootstrap()
    form = Form.objects.get()
    form.name = "Our newsletter"
    form.save()

    _bootstrap()

    assert list(Form.objects.values_list("name", flat=True)) == ["Our newsletter"]
    assert _demo_consent() == 1


def test_a_deleted_demo_form_stays_deleted():
    _bootstrap()
    Form.objects.all().delete()

    output = _bootstrap()

    assert not Form.objects.exists()
    assert "left as it is" in output


def test_the_admin_password_is_printed_on_the_first_run_only():
    first = _bootstrap()
    second = _bootstrap()

    assert "password:" in first
    assert "password:" not in second
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
