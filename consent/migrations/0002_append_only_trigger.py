"""On PostgreSQL, the database itself refuses UPDATE and DELETE on consent records.

The one way through is a transaction that sets `consentry.erasure = 'on'` (SET LOCAL), which
only the erasure service does (GDPR Art. 17 outranks the log; it leaves a tombstone).
"""

from django.db import migrations

from consentry.migration_sql import postgres_only

CREATE = """
CREATE OR REPLACE FUNCTION consent_record_append_only() RETURNS trigger AS $$
BEGIN
    IF current_setting('consentry.erasure', true) = 'on' AND TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'consent records are append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER consent_record_append_only
    BEFORE UPDATE OR DELETE ON consent_consentrecord
    FOR EACH ROW EXECUTE FUNCTION consent_record_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS consent_record_append_only ON consent_consentrecord;
DROP FUNCTION IF EXISTS consent_record_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]
    operations = [postgres_only(CREATE, DROP)]
