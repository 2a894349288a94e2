"""Consent records are proof: appended, never changed, never deleted."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from consent.models import AppendOnlyError, ConsentRecord
from consent.selectors import consent_state
from consent.services import consent_grant, consent_withdraw
from tests.support.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_the_current_state_is_the_newest_record():
    contact = ContactFactory()
    assert consent_state(contact=contact, purpose="tracking") is None
    consent_grant(contact=contact, source="form")
    consent_withdraw(contact=contact, source="api")
    assert consent_state(contact=contact, purpose="tracking") == "withdraw"
    assert consent_state(contact=contact, purpose="email") is None
    assert ConsentRecord.objects.filter(contact=contact).count() == 2


def test_a_record_cannot_be_changed_or_deleted_through_the_orm():
    record = consent_grant(contact=ContactFactory(), source="form")
    record.action = "withdraw"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.filter(pk=record.pk).update(action="withdraw")
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.all().delete()
    assert ConsentRecord.objects.get(pk=record.pk).action == "grant"


def test_a_browser_key_is_stored_one_way():
    record = consent_grant(browser_key="secret-browser-key", source="script")
    assert record.browser_key
    assert "secret-browser-key" not in record.browser_key


def test_a_record_must_name_someone():
    with pytest.raises(ValueError, match="names a contact"):
        consent_grant(source="script")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE consent_consentrecord SET action = 'withdraw' WHERE id = %s",
        "DELETE FROM consent_consentrecord WHERE id = %s",
    ],
)
def test_postgres_itself_refuses_to_change_or_delete_a_record(sql):
    record = consent_grant(contact=ContactFactory(), source="form")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [record.pk])
    assert ConsentRecord.objects.get(pk=record.pk).action == "grant"
