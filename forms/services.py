"""Recording a submission: the contact, the consent records, and what it ties to the browser's
device. What the browser may keep is the gate's decision (consent.gate.FormFacts): the device
cookie only when the form's switch, the embed and the gate all allow it: a plain contact form
must not make its visitor choose between sending it and being tracked."""

from __future__ import annotations

from dataclasses import dataclass
from types import EllipsisType

from django.db import transaction

from consent.gate import Decision, device_id_for
from consent.models import Action, Purpose
from consent.optin import optin_request
from consent.services import consent_grant, consent_record
from contacts.models import Contact, Device
from contacts.selectors import device_get
from contacts.services import contact_upsert, device_link
from forms.models import FieldType, Form, Submission
from forms.selectors import submission_contact_values, submission_ticked
from forms.validation import Cleaned


@dataclass(frozen=True, slots=True)
class Outcome:
    submission: Submission
    # The device the response should remember (written only if the decision permits).
    device_id: str | None


def _contact_from(
    form: Form, cleaned: Cleaned, found: Contact | EllipsisType | None
) -> Contact | None:
    values = submission_contact_values(form=form, cleaned=cleaned)
    if not values.email:
        return None
    return contact_upsert(
        email=values.email, fields=values.custom or None, found=found, **values.names
    )


def submission_record(
    *,
    form: Form,
    cleaned: Cleaned,
    decision: Decision,
    kiosk: bool,
    ip_masked: str | None,
    contact_found: Contact | EllipsisType | None = ...,
) -> Outcome:
    """Store the submission, its contact and its consent records, as the gate decided.

    A ticked tracking-consent field is this browser's grant when the gate remembers it on the
    browser (decision.chosen), and the contact's alone otherwise. The submission is tied to the
    browser's device, and through it to a contact when the form names none, only when the
    decision may store and identify.

    `contact_found`: the submission's contact as submission_contact_get read it for the gate,
    when it did (not read again).
    """
    with transaction.atomic():
        contact = _contact_from(form, cleaned, contact_found)
        tracking = submission_ticked(cleaned=cleaned, kind=FieldType.TRACKING_CONSENT)
        if decision.chosen is not None:
            consent_record(
                action=Action.GRANT,
                source="form",
                contact=contact,
                browser_key=decision.chosen.browser_key,
                notice_version=decision.chosen.notice_version,
                ip_masked=ip_masked,
            )
        elif tracking is not None and contact is not None:
            consent_grant(
                contact=contact,
                source="form",
                notice_version=tracking.notice_version or None,
                ip_masked=ip_masked,
            )
        ticked_email = submission_ticked(cleaned=cleaned, kind=FieldType.EMAIL_CONSENT)
        if contact is not None and ticked_email is not None:
            if form.double_opt_in:
                # Not consent yet: only the address's owner can give it, through the link.
                optin_request(contact_id=contact.pk, origin="form")
            else:
                consent_grant(
                    contact=contact, purpose=Purpose.EMAIL, source="form", ip_masked=ip_masked
                )
        identify = decision.store and decision.identify
        device_id = device_id_for(decision) if identify else None
        if device_id is not None:
            device = device_get(public_id=device_id) or Device.objects.create(public_id=device_id)
            if contact is None:
                contact = device.contact
            else:
                choice = decision.browser.choice
                device_link(
                    device=device,
                    contact=contact,
                    browser_key=choice.browser_key if choice else "",
                )
        submission = Submission.objects.create(
            form=form,
            contact=contact,
            data=cleaned.values,
            kiosk=kiosk or form.kiosk,
            identified=identify and contact is not None,
        )
        if contact is not None:
            _submission_hook(submission)
    return Outcome(submission=submission, device_id=device_id)


def _submission_hook(submission: Submission) -> None:
    from consentry.kinds import kind_get
    from webhooks.services import kind_rows_emit

    kind = kind_get("submission")
    if kind is not None:
        kind_rows_emit(kind=kind, rows=[submission])
