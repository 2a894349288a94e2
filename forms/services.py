"""Recording a submission: the contact, the consent records, and the browser's cookie only
when the form's switch, the embed and the gate all allow it (the RFC's Problem 5)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase

from consent.cookies import apply
from consent.gate import Choice, Decision, Surface, decide
from consent.ip import masked_client_ip
from consent.models import Purpose
from consent.services import choice_make, consent_grant
from contacts.models import Contact, Device
from contacts.selectors import device_get
from contacts.services import contact_upsert, device_link
from forms.models import Field, FieldType, Form, Submission
from forms.validation import Cleaned
from tracker.services import device_new_id

_NAMES = ("first_name", "last_name")


@dataclass(frozen=True, slots=True)
class Outcome:
    submission: Submission
    decision: Decision
    identified: bool


def _contact_from(form: Form, cleaned: Cleaned) -> Contact | None:
    email, names, custom = "", {}, {}
    for form_field in form.fields.all():
        value = cleaned.values.get(form_field.alias)
        if value is None or form_field.type in (
            FieldType.TRACKING_CONSENT,
            FieldType.EMAIL_CONSENT,
        ):
            continue
        target = form_field.contact_field or ("email" if form_field.type == FieldType.EMAIL else "")
        if target == "email" and isinstance(value, str) and not email:
            email = value
        elif target in _NAMES and isinstance(value, str):
            names[target] = value[:150]
        elif target:
            custom[target] = value
    if not email:
        return None
    return contact_upsert(email=email, fields=custom or None, **names)


def _ticked(cleaned: Cleaned, kind: str) -> Field | None:
    return next((f for f in cleaned.ticked if f.type == kind), None)


def submission_record(
    *,
    request: HttpRequest,
    response: HttpResponseBase,
    form: Form,
    cleaned: Cleaned,
    kiosk: bool,
) -> Outcome:
    """Store the submission and decide the browser's fate.

    The device cookie is written only when the form's switch is on, the embed is not a kiosk,
    and the gate permits it: mode always, the tracking-consent field ticked, or a grant the
    browser already holds. A submission is tied to a contact found through a cookie only
    when the gate permits identification.
    """
    kiosk = kiosk or form.kiosk
    may_set_cookie = form.set_cookie_on_submission and not kiosk
    with transaction.atomic():
        contact = _contact_from(form, cleaned)
        decision = decide(request, surface=Surface.FORM, contact=contact)
        tracking = _ticked(cleaned, FieldType.TRACKING_CONSENT)
        if tracking is not None:
            version = tracking.notice_version or None
            if may_set_cookie and settings.TRACKING_MODE != "off":
                browser, _ = choice_make(
                    request=request,
                    response=response,
                    choice=Choice.GRANTED,
                    source="form",
                    contact=contact,
                    notice_version=version,
                )
                decision = decide(request, surface=Surface.FORM, contact=contact, browser=browser)
            elif contact is not None:
                consent_grant(
                    contact=contact,
                    source="form",
                    notice_version=version,
                    ip_masked=masked_client_ip(request),
                )
        if contact is not None and _ticked(cleaned, FieldType.EMAIL_CONSENT) is not None:
            consent_grant(
                contact=contact,
                purpose=Purpose.EMAIL,
                source="form",
                ip_masked=masked_client_ip(request),
            )
        identify = may_set_cookie and decision.store and decision.identify
        device_id = None
        if identify:
            device_id = decision.device_id or device_new_id()
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
            kiosk=kiosk,
            identified=identify and contact is not None,
        )
    apply(response, decision, device_id=device_id)
    return Outcome(submission=submission, decision=decision, identified=submission.identified)
