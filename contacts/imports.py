"""Contact import from CSV: one engine for `manage.py contacts_import` and the admin upload.

A file is read whole, every row is checked (its text through the text edge, its email, names,
consent evidence and Do-Not-Contact cells), and a row with any problem is refused with its
line, column and reason; nothing of it is written. Rows for the same email are merged in file
order. The good rows are written in batches, each in one transaction with bulk statements; a
batch the database refuses is written again one contact at a time, each in its own savepoint,
so one bad contact costs only its own rows.

Importing the same file again changes nothing: contacts are matched by email (any case), a
name or field is written only when it differs, and a consent record or Do-Not-Contact entry is
added only when the contact does not hold it already. An import never lifts a Do-Not-Contact
and never blanks a value with an empty cell.

What a batch writes sends its webhook events in the same transaction, as the services do one
at a time: contact.created, contact.updated (only when something changed), consent.changed
and dnc.added, built in one go and only for the types some endpoint subscribes to.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from consent.models import Action, ConsentRecord, Purpose
from consentry.text import TextRefused, text_check
from contacts.models import Channel, Contact, DncReason, DoNotContact
from webhooks.events import consent_summaries, contact_data
from webhooks.selectors import webhook_types_subscribed
from webhooks.services import Emission, event_id_for, webhooks_emit

BATCH_SIZE = 2000
MAX_FIELD_LENGTH = 1000

# What a column can be mapped to; `field:<alias>` keeps the column as a custom field.
TARGETS = (
    "email",
    "first_name",
    "last_name",
    "consent_purpose",
    "consent_action",
    "consent_at",
    "consent_source",
    "consent_notice",
    "dnc_email",
    "dnc_sms",
    "dnc_tracking",
    "dnc_reason",
    "ignore",
)
_CONSENT_TARGETS = ("consent_purpose", "consent_action", "consent_at")
_DNC_TARGETS = {
    "dnc_email": Channel.EMAIL,
    "dnc_sms": Channel.SMS,
    "dnc_tracking": Channel.TRACKING,
}

# Header names as Mautic's contact export and common CRMs write them, normalised (lower case,
# spaces and dashes as underscores).
DEFAULT_MAPPING: dict[str, str] = {
    "email": "email",
    "e_mail": "email",
    "email_address": "email",
    "firstname": "first_name",
    "first_name": "first_name",
    "lastname": "last_name",
    "last_name": "last_name",
    "consent_purpose": "consent_purpose",
    "purpose": "consent_purpose",
    "consent_action": "consent_action",
    "consent_status": "consent_action",
    "consent": "consent_action",
    "consent_at": "consent_at",
    "consent_date": "consent_at",
    "consented_at": "consent_at",
    "consent_source": "consent_source",
    "consent_notice": "consent_notice",
    "notice_version": "consent_notice",
    "consent_notice_version": "consent_notice",
    "dnc": "dnc_email",
    "dnc_email": "dnc_email",
    "donotcontact": "dnc_email",
    "do_not_contact": "dnc_email",
    "dnc_sms": "dnc_sms",
    "dnc_tracking": "dnc_tracking",
    "dnc_reason": "dnc_reason",
    # Our own export's read-only columns: the current state, not evidence.
    "email_consent": "ignore",
    "tracking_consent": "ignore",
    "created_at": "ignore",
    "updated_at": "ignore",
    # Mautic's own bookkeeping: meaningless here.
    "id": "ignore",
    "date_added": "ignore",
    "date_modified": "ignore",
    "date_identified": "ignore",
    "last_active": "ignore",
    "created_by": "ignore",
    "created_by_user": "ignore",
    "modified_by": "ignore",
    "modified_by_user": "ignore",
    "owner_id": "ignore",
    "owner": "ignore",
    "stage": "ignore",
    "stage_id": "ignore",
    "points": "ignore",
    "ip_address": "ignore",
    "ipaddress": "ignore",
    "preferred_profile_image": "ignore",
}

_ALIAS = re.compile(r"^[a-z0-9_]{1,64}$")
_GRANT = {"grant", "granted", "yes", "y", "true", "1", "opted_in", "opt_in", "subscribed"}
_WITHDRAW = {"withdraw", "withdrawn", "no", "n", "false", "0", "opted_out", "opt_out", "revoked"}
_OBJECT = {"object", "objected"}
_YES = {"1", "yes", "y", "true", "x", "dnc"}
_NO = {"", "0", "no", "n", "false"}
# A cell our own exports neutralised for spreadsheets: the quote is not part of the value.
_NEUTRALISED = re.compile(r"^'[=+\-@\t\r]")


class ImportRefused(ValueError):
    """The file as a whole cannot be imported (not UTF-8 CSV, no email column, a bad mapping)."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f", column {self.column}" if self.column else ""
        return f"line {self.line}{where}: {self.reason}"


@dataclass
class ImportReport:
    file_name: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    consents: int = 0
    dnc: int = 0
    errors: list[RowError] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        return (
            f"{self.rows} rows read: {self.created} contacts {verb} created, {self.updated} "
            f"updated, {self.unchanged} unchanged; {self.consents} consent records and "
            f"{self.dnc} Do-Not-Contact entries {verb} added; {self.refused} rows refused."
        )


@dataclass
class _Evidence:
    purpose: str
    action: str
    at: dt.datetime
    source: str
    notice: str


@dataclass
class _Planned:
    """Everything the file says about one email, merged from its rows in file order."""

    email: str
    lines: list[int]
    names: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    evidence: list[_Evidence] = field(default_factory=list)
    dnc: dict[str, str] = field(default_factory=dict)


def header_normalise(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def mapping_parse(*, lines: Iterable[str]) -> dict[str, str]:
    """`column=target` pairs (from the command's --map options or the admin's mapping box)."""
    mapping: dict[str, str] = {}
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        column, sep, target = line.partition("=")
        if not sep or not column.strip():
            raise ImportRefused(f"a mapping reads column=target, not {line!r}")
        target = target.strip()
        _target_check(target)
        mapping[header_normalise(column)] = target
    return mapping


def _target_check(target: str) -> None:
    if target in TARGETS:
        return
    if target.startswith("field:") and _ALIAS.match(target.removeprefix("field:")):
        return
    raise ImportRefused(
        f"unknown target {target!r}: one of {', '.join(TARGETS)} or field:<alias> "
        "(lower-case letters, digits and underscores)"
    )


def _columns(header: list[str], mapping: dict[str, str]) -> list[str]:
    targets: list[str] = []
    for index, name in enumerate(header):
        try:
            text_check(name, field=f"header column {index + 1}")
        except TextRefused as exc:
            raise ImportRefused(str(exc)) from None
        key = header_normalise(name)
        target = mapping.get(key) or DEFAULT_MAPPING.get(key)
        if target is None:
            alias = re.sub(r"[^a-z0-9_]", "", key)[:64]
            target = f"field:{alias}" if alias else "ignore"
        if target != "ignore" and target in targets:
            raise ImportRefused(f"two columns are mapped to {target} (the second is {name!r})")
        targets.append(target)
    if "email" not in targets:
        raise ImportRefused("no column is mapped to email: name one with email=<column>")
    return targets


def _uncell(value: str) -> str:
    value = value.strip()
    return value[1:] if _NEUTRALISED.match(value) else value


def _when(value: str) -> dt.datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValueError("is not a date or time (write it as ISO 8601: 2024-05-01T09:30:00Z)")
        moment = dt.datetime.combine(day, dt.time())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    if moment > timezone.now() + dt.timedelta(minutes=5):
        raise ValueError("is in the future")
    return moment


def _action(value: str) -> str:
    word = header_normalise(value)
    if word in _GRANT:
        return Action.GRANT
    if word in _WITHDRAW:
        return Action.WITHDRAW
    if word in _OBJECT:
        return Action.OBJECT
    raise ValueError("is neither granted nor withdrawn (grant, withdraw or object)")


def _row_read(
    line: int, cells: list[str], header: list[str], targets: list[str]
) -> tuple[_Planned | None, list[RowError]]:
    errors: list[RowError] = []
    if len(cells) != len(header):
        return None, [RowError(line, "", f"has {len(cells)} cells, the header has {len(header)}")]
    values: dict[str, str] = {}
    for name, target, raw in zip(header, targets, cells, strict=True):
        try:
            text_check(raw, field=name)
        except TextRefused as exc:
            errors.append(
                RowError(line, name, f"holds a character that is not allowed ({exc.spelled})")
            )
            continue
        if target != "ignore":
            values[target] = _uncell(raw)
    column = dict(zip(targets, header, strict=True))
    if errors:
        return None, errors

    email = values.get("email", "")
    try:
        validate_email(email)
        if len(email) > 254:
            raise ValidationError("too long")
    except ValidationError:
        errors.append(
            RowError(
                line,
                column["email"],
                f"{email!r} is not an email address"
                if email
                else "is empty: every contact needs an email",
            )
        )
    planned = _Planned(email=email, lines=[line])
    for name in ("first_name", "last_name"):
        if values.get(name):
            if len(values[name]) > 150:
                errors.append(RowError(line, column[name], "is longer than 150 characters"))
            planned.names[name] = values[name]
    for target, value in values.items():
        if target.startswith("field:") and value:
            if len(value) > MAX_FIELD_LENGTH:
                errors.append(
                    RowError(line, column[target], f"is longer than {MAX_FIELD_LENGTH} characters")
                )
            planned.fields[target.removeprefix("field:")] = value

    consent_cells = [
        values.get(t, "") for t in (*_CONSENT_TARGETS, "consent_source", "consent_notice")
    ]
    if any(consent_cells):
        evidence: dict[str, Any] = {}
        purpose = values.get("consent_purpose", "").lower()
        if purpose not in Purpose.values:
            errors.append(
                RowError(
                    line,
                    column.get("consent_purpose", "consent_purpose"),
                    "names no purpose (email or tracking)",
                )
            )
        evidence["purpose"] = purpose
        try:
            evidence["action"] = _action(values.get("consent_action", ""))
        except ValueError as exc:
            errors.append(RowError(line, column.get("consent_action", "consent_action"), str(exc)))
        try:
            if not values.get("consent_at"):
                raise ValueError("is empty: consent evidence needs the time the choice was made")
            evidence["at"] = _when(values["consent_at"])
        except ValueError as exc:
            errors.append(RowError(line, column.get("consent_at", "consent_at"), str(exc)))
        for target, limit in (("consent_source", 32), ("consent_notice", 32)):
            if len(values.get(target, "")) > limit:
                errors.append(RowError(line, column[target], f"is longer than {limit} characters"))
        if not errors:
            planned.evidence.append(
                _Evidence(
                    source=values.get("consent_source") or "import",
                    notice=values.get("consent_notice", ""),
                    **evidence,
                )
            )

    reason = header_normalise(values.get("dnc_reason", "")) or DncReason.MANUAL
    if reason not in DncReason.values:
        errors.append(
            RowError(line, column["dnc_reason"], f"is not a reason ({', '.join(DncReason.values)})")
        )
    for target, channel in _DNC_TARGETS.items():
        value = header_normalise(values.get(target, ""))
        if value in _NO:
            continue
        if value in _YES or value in DncReason.values:
            planned.dnc[channel] = value if value in DncReason.values else reason
        else:
            errors.append(RowError(line, column[target], "is neither yes nor no (1/0, yes/no)"))
    return (None, errors) if errors else (planned, [])


def _merge(into: _Planned, row: _Planned) -> None:
    into.lines.extend(row.lines)
    into.names.update(row.names)
    into.fields.update(row.fields)
    into.evidence.extend(row.evidence)
    into.dnc.update({k: v for k, v in row.dnc.items() if k not in into.dnc})


def _read(data: bytes, mapping: dict[str, str], report: ImportReport) -> list[_Planned]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRefused(f"line {line}: the file is not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused("the file is empty") from None
    except csv.Error as exc:
        raise ImportRefused(f"line 1: {exc}") from None
    targets = _columns(header, mapping)
    planned: dict[str, _Planned] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportRefused(f"line {reader.line_num}: {exc}") from None
        if not any(cell.strip() for cell in cells):
            continue
        report.rows += 1
        row, errors = _row_read(reader.line_num, cells, header, targets)
        if row is None:
            report.refused += 1
            report.errors.extend(errors)
            continue
        key = row.email.lower()
        if key in planned:
            _merge(planned[key], row)
        else:
            planned[key] = row
    return list(planned.values())


def _names_changed(contact: Contact, plan: _Planned) -> bool:
    changed = False
    for name, value in plan.names.items():
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed = True
    merged = {**contact.fields, **plan.fields}
    if merged != contact.fields:
        contact.fields = merged
        changed = True
    return changed


def _batch_emit(
    *,
    created: list[Contact],
    updated: list[Contact],
    records: list[ConsentRecord],
    entries: list[DoNotContact],
    run_id: uuid.UUID,
) -> None:
    """The webhook events of a batch just written, in one go. An event's id follows from the
    row that caused it (a contact.updated's from the contact and the run too), so a run
    repeated with the same run id sends nothing twice."""
    subscribed = webhook_types_subscribed()
    if not subscribed:
        return  # the common case: no payload is built, nothing more is read
    owners: dict[str, list[int | None]] = {
        "contact.created": [contact.pk for contact in created],
        "contact.updated": [contact.pk for contact in updated],
        "consent.changed": [record.contact_id for record in records],
        "dnc.added": [entry.contact_id for entry in entries],
    }
    # The consent state every event carries, read once for the batch, after its writes.
    summaries = consent_summaries(
        contact_ids={
            contact_id
            for type_, contact_ids in owners.items()
            if type_ in subscribed
            for contact_id in contact_ids
            if contact_id is not None
        }
    )
    if not summaries:
        return
    emissions: list[Emission] = []

    def emit(type_: str, contact_id: int, cause: str, data: dict[str, Any]) -> None:
        if type_ in subscribed:
            emissions.append(
                Emission(
                    type=type_,
                    data={**data, "consent": summaries[contact_id]},
                    contact_id=contact_id,
                    id=event_id_for(type=type_, cause=f"import:{cause}"),
                )
            )

    for contact in created:
        emit(
            "contact.created",
            contact.pk,
            f"contact:{contact.pk}",
            {"contact": contact_data(contact)},
        )
    for contact in updated:
        emit(
            "contact.updated",
            contact.pk,
            f"{run_id}:contact:{contact.pk}",
            {"contact": contact_data(contact)},
        )
    for record in records:
        if record.contact_id is None:
            continue  # a browser's own choice names no one: no event (none is imported)
        emit(
            "consent.changed",
            record.contact_id,
            f"consent:{record.pk}",
            {
                "contact": {"id": record.contact_id},
                "purpose": record.purpose,
                "action": record.action,
                "source": record.source,
                "notice_version": record.notice_version,
            },
        )
    for entry in entries:
        emit(
            "dnc.added",
            entry.contact_id,
            f"dnc:{entry.pk}",
            {"contact": {"id": entry.contact_id}, "channel": entry.channel, "reason": entry.reason},
        )
    webhooks_emit(emissions)


def _batch_write(
    plans: list[_Planned],
    *,
    file_name: str,
    dry_run: bool,
    report: ImportReport,
    run_id: uuid.UUID,
) -> None:
    """Plan and write one batch; raises DatabaseError with nothing of the batch written."""
    emails = [plan.email.lower() for plan in plans]
    existing: dict[str, Contact] = {
        contact.email.lower(): contact
        for contact in Contact.objects.annotate(email_lower=Lower("email")).filter(
            ~Q(email=""), email_lower__in=emails
        )
    }
    ids = [contact.pk for contact in existing.values()]
    held_consents = set(
        ConsentRecord.objects.filter(contact_id__in=ids).values_list(
            "contact_id", "purpose", "action", "created_at", "source", "notice_version"
        )
    )
    held_dnc = set(
        DoNotContact.objects.filter(contact_id__in=ids).values_list("contact_id", "channel")
    )
    now = timezone.now()
    created: list[tuple[Contact, _Planned]] = []
    updated: list[Contact] = []
    records: list[ConsentRecord] = []
    entries: list[DoNotContact] = []
    counts = {"created": 0, "updated": 0, "unchanged": 0, "consents": 0, "dnc": 0}

    def add_rows(contact: Contact, plan: _Planned, known: bool) -> None:
        for ev in plan.evidence:
            key = (contact.pk, ev.purpose, ev.action, ev.at, ev.source, ev.notice)
            if known and key in held_consents:
                continue
            held_consents.add(key)
            counts["consents"] += 1
            records.append(
                ConsentRecord(
                    contact=contact,
                    purpose=ev.purpose,
                    action=ev.action,
                    source=ev.source,
                    notice_version=ev.notice,
                    created_at=ev.at,
                    imported=True,
                    import_file=file_name,
                )
            )
        for channel, reason in plan.dnc.items():
            if known and (contact.pk, channel) in held_dnc:
                continue
            held_dnc.add((contact.pk, channel))
            counts["dnc"] += 1
            entries.append(
                DoNotContact(
                    contact=contact,
                    channel=channel,
                    reason=reason,
                    comment=f"imported from {file_name}"[:500],
                )
            )

    for plan in plans:
        found = existing.get(plan.email.lower())
        if found is None:
            contact = Contact(email=plan.email, fields=dict(plan.fields), **plan.names)
            created.append((contact, plan))
            counts["created"] += 1
            continue
        if _names_changed(found, plan):
            found.updated_at = now
            updated.append(found)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
        add_rows(found, plan, known=True)

    if not dry_run:
        with transaction.atomic():
            Contact.objects.bulk_create([new for new, _ in created])
            for new, plan in created:
                add_rows(new, plan, known=False)
            Contact.objects.bulk_update(
                updated, ["first_name", "last_name", "fields", "updated_at"]
            )
            ConsentRecord.objects.bulk_create(records)
            DoNotContact.objects.bulk_create(entries)
            _batch_emit(
                created=[new for new, _ in created],
                updated=updated,
                records=records,
                entries=entries,
                run_id=run_id,
            )
    else:
        for new, plan in created:
            add_rows(new, plan, known=False)
    for name, value in counts.items():
        setattr(report, name, getattr(report, name) + value)


def contacts_import(
    *,
    data: bytes,
    file_name: str,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    run_id: uuid.UUID | None = None,
) -> ImportReport:
    """Import contacts, their consent evidence and Do-Not-Contact entries from a CSV file.

    `mapping` maps a header (normalised) to a target; the others take DEFAULT_MAPPING or
    become custom fields. `progress(done, total)` is called after each batch, counted in
    contacts. `run_id` names the run in its webhook events' ids: a caller that may run the
    same import again (a retried task) passes the same one; by default each call is its own
    run. Raises ImportRefused when the file as a whole cannot be read."""
    run_id = run_id or uuid.uuid4()
    for target in (mapping or {}).values():
        _target_check(target)
    report = ImportReport(file_name=file_name[:255], dry_run=dry_run)
    plans = _read(data, {header_normalise(k): v for k, v in (mapping or {}).items()}, report)
    total = len(plans)
    for start in range(0, total, batch_size):
        batch = plans[start : start + batch_size]
        try:
            _batch_write(
                batch, file_name=report.file_name, dry_run=dry_run, report=report, run_id=run_id
            )
        except DatabaseError:
            # One contact in the batch is refused by the database (another writer took its
            # email a moment ago, say): write them one by one, so only that one is lost.
            for plan in batch:
                try:
                    _batch_write(
                        [plan],
                        file_name=report.file_name,
                        dry_run=dry_run,
                        report=report,
                        run_id=run_id,
                    )
                except DatabaseError as exc:
                    report.refused += len(plan.lines)
                    reason = f"the database refused it: {str(exc).splitlines()[0][:200]}"
                    report.errors.extend(RowError(line, "", reason) for line in plan.lines)
        if progress is not None:
            progress(min(start + batch_size, total), total)
    report.errors.sort(key=lambda error: error.line)
    return report
