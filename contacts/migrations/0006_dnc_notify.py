"""PostgreSQL tells every web process which contacts' Do-Not-Contact standing may have changed
(contacts/dnc_view.py): a Do-Not-Contact entry added or removed, or a device tied to, moved
between or removed from contacts. NOTIFY is sent when the transaction commits, and whatever
writes the row (a service, the admin, a cascade, plain SQL) fires it. The payload is a contact
id, nothing else."""

from django.db import migrations

from consentry.migration_sql import postgres_only

CHANNEL = "consentry_dnc"

CREATE = f"""
CREATE FUNCTION consentry_dnc_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.contact_id IS NOT NULL THEN
        PERFORM pg_notify('{CHANNEL}', OLD.contact_id::text);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.contact_id IS NOT NULL THEN
        PERFORM pg_notify('{CHANNEL}', NEW.contact_id::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_donotcontact_notify
    AFTER INSERT OR DELETE OR UPDATE OF contact_id ON contacts_donotcontact
    FOR EACH ROW EXECUTE FUNCTION consentry_dnc_notify();
CREATE TRIGGER contacts_device_notify
    AFTER INSERT OR DELETE OR UPDATE OF contact_id ON contacts_device
    FOR EACH ROW EXECUTE FUNCTION consentry_dnc_notify();
"""

DROP = """
DROP TRIGGER IF EXISTS contacts_device_notify ON contacts_device;
DROP TRIGGER IF EXISTS contacts_donotcontact_notify ON contacts_donotcontact;
DROP FUNCTION IF EXISTS consentry_dnc_notify();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0005_dnc_help"),
    ]

    operations = [postgres_only(CREATE, DROP)]
