"""A submission reads its form from the process's copy: an operator's change to the form or
its fields is what the very next submission is held to, in this process at once and in the
others within seconds."""

from __future__ import annotations

import time

import pytest

from consentry.redis import get_redis
from forms.models import Field, Form, Submission
from forms.selectors import _published
from tests.support.forming import form_make
from tests.support.tracking import CHROME

pytestmark = pytest.mark.django_db
JSON = {"Accept": "application/json", "User-Agent": CHROME}


def submit(client, form: Form, **fields):
    data = {"email": "ada@example.com", "first_name": "Ada", **fields}
    return client.post(f"/form/submit?formId={form.pk}", data, headers=JSON)


def test_a_field_made_required_after_a_submission_is_required_for_the_next(client):
    form = form_make()
    assert submit(client, form, first_name="").status_code == 200
    field = Field.objects.get(form=form, alias="first_name")
    field.required = True
    field.save()
    refused = submit(client, form, first_name="")
    assert refused.status_code == 400
    assert refused.json()["fields"] == {"first_name": "This field is required."}


def test_a_new_message_an_added_field_and_unpublishing_apply_at_once(client):
    form = form_make()
    assert submit(client, form).json()["message"] == "Thank you, we received your message."
    form.success_message = "Merci !"
    form.save()
    Field.objects.create(form=form, label="Town", alias="town", type="text", order=99)
    answer = submit(client, form, town="Lyon")
    assert answer.json()["message"] == "Merci !"
    assert Submission.objects.order_by("-pk").first().data["town"] == "Lyon"
    form.published = False
    form.save()
    assert submit(client, form).status_code == 404
    assert Submission.objects.count() == 2


def test_a_change_another_process_made_is_read_within_seconds(client):
    form = form_make()
    assert submit(client, form, first_name="").status_code == 200
    # Another process's change: no save here to tell this one, only the version it publishes.
    Field.objects.filter(form=form, alias="first_name").update(required=True)
    get_redis().set(_published.key, "changed elsewhere")
    time.sleep(1.2)
    assert submit(client, form, first_name="").status_code == 400


@pytest.mark.django_db(transaction=True)
def test_a_form_deleted_by_another_process_is_gone_for_the_next_submission_not_a_500(client):
    from django.db import connection

    form = form_make()
    assert submit(client, form).status_code == 200  # this process now keeps a copy
    # Another process deletes it: no signal reaches this one, whose copy stays a moment.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM forms_submission WHERE form_id = %s", [form.pk])
        cursor.execute("DELETE FROM forms_field WHERE form_id = %s", [form.pk])
        cursor.execute("DELETE FROM forms_form WHERE id = %s", [form.pk])
    gone = submit(client, form, email="grace@example.com")
    assert gone.status_code == 404
    assert not Submission.objects.exists()
    assert submit(client, form).status_code == 404
