from __future__ import annotations

from dataclasses import dataclass, field

from consent.gate import FormFacts
from consentry.versioned import Versioned
from contacts.models import Contact
from contacts.selectors import contact_get_by_email
from focus.models import FocusItem
from forms.models import Field, FieldType, Form
from forms.validation import Cleaned
from pages.models import LandingPage

_NAMES = ("first_name", "last_name")


def form_get_published(*, form_id: int, include_drafts: bool = False) -> Form | None:
    forms = Form.objects.prefetch_related("fields").filter(pk=form_id)
    if not include_drafts:
        forms = forms.filter(published=True)
    return forms.first()


# Every submission reads its form and its fields: each process keeps the published forms it
# was asked for, read again when one changes (forms_changed, on every save of a form or a
# field) as consentry.sites keeps the tracked sites. Callers only read what they are given.
_published = Versioned("consentry:forms:version")
_copies: dict[int, Form] = {}
_COPIES_MAX = 1000


def form_get_published_kept(*, form_id: int) -> Form | None:
    """form_get_published for a hot path: the published form and its fields from this
    process's copy, a query only the first time or after a change."""
    if _published.stale():
        _copies.clear()
    form = _copies.get(form_id)
    if form is None:
        form = form_get_published(form_id=form_id)
        if form is not None:
            if len(_copies) >= _COPIES_MAX:
                _copies.clear()
            _copies[form_id] = form
    return form


def forms_changed() -> None:
    """A form or a field was saved or deleted: every process reads its forms again."""
    _copies.clear()
    _published.changed()


def forms_forget() -> None:
    """Make this process read its forms again (tests roll back the rows it read)."""
    _copies.clear()
    _published.expire()


@dataclass(frozen=True, slots=True)
class ContactValues:
    """What a submission says about its contact, by the fields' mapping."""

    email: str = ""
    names: dict[str, str] = field(default_factory=dict)
    custom: dict[str, str | list[str]] = field(default_factory=dict)


def submission_contact_values(*, form: Form, cleaned: Cleaned) -> ContactValues:
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
    return ContactValues(email=email, names=names, custom=custom)


def submission_contact_get(*, form: Form, cleaned: Cleaned) -> Contact | None:
    """The known contact a submission names by its email: the one the gate checks for
    Do-Not-Contact. A contact the submission creates has none to check."""
    email = submission_contact_values(form=form, cleaned=cleaned).email
    return contact_get_by_email(email=email) if email else None


def submission_ticked(*, cleaned: Cleaned, kind: str) -> Field | None:
    """The consent field of this kind the visitor ticked, if any."""
    return next((f for f in cleaned.ticked if f.type == kind), None)


def submission_facts(*, form: Form, cleaned: Cleaned, kiosk: bool) -> FormFacts:
    """What the submission brings to the gate."""
    tracking = submission_ticked(cleaned=cleaned, kind=FieldType.TRACKING_CONSENT)
    return FormFacts(
        set_cookie=form.set_cookie_on_submission,
        kiosk=kiosk or form.kiosk,
        tracking_ticked=tracking is not None,
        notice_version=tracking.notice_version if tracking is not None else "",
    )


@dataclass(frozen=True, slots=True)
class FormUsers:
    """What shows a form besides its own embeds: these lose it when it is deleted."""

    focus_items: list[FocusItem]
    pages: list[LandingPage]


def form_users(*, form_ids: list[int]) -> FormUsers:
    return FormUsers(
        focus_items=list(FocusItem.objects.filter(form_id__in=form_ids).order_by("name", "pk")),
        pages=list(LandingPage.objects.filter(form_id__in=form_ids).order_by("title", "pk")),
    )
