from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Q

from consent.gate import ContactFacts
from consent.models import ConsentRecord, Purpose
from consentry.redirects import ANY_ORIGIN, redirect_target
from contacts.models import Contact, DoNotContact
from contacts.selectors import contact_get_by_email
from emails.models import Email, EmailClick, EmailOpen, Recipient, TrackedLink


def recipient_get(*, token: str) -> Recipient | None:
    return Recipient.objects.select_related("contact", "send__email").filter(token=token).first()


@dataclass(frozen=True, slots=True)
class ClickRecipient:
    """What a tracked link needs of the recipient its ct names."""

    token: str
    tracked: bool  # rendered with attributed links (tracking consent at send time)
    contact_id: int
    facts: ContactFacts  # the contact's Do-Not-Contact and tracking consent, read now


# One query per click, written out: building it through the ORM (two subqueries) cost several
# times what PostgreSQL spends answering it. Names from the models, values as parameters.
_CLICK_RECIPIENT_SQL = (
    "SELECT r.token, r.tracked, r.contact_id,"  # noqa: S608
    f" EXISTS (SELECT 1 FROM {DoNotContact._meta.db_table} dnc"
    " WHERE dnc.contact_id = r.contact_id),"
    f" (SELECT c.action FROM {ConsentRecord._meta.db_table} c"
    " WHERE c.contact_id = r.contact_id AND c.purpose = %s"
    " ORDER BY c.created_at DESC, c.id DESC LIMIT 1)"
    f" FROM {Recipient._meta.db_table} r WHERE r.token = %s"
)


def recipient_for_click(*, token: str) -> ClickRecipient | None:
    """The recipient with what the gate needs to know of its contact, in one query (a tracked
    link is clicked most in a campaign's busiest minutes)."""
    with connection.cursor() as cursor:
        cursor.execute(_CLICK_RECIPIENT_SQL, [Purpose.TRACKING.value, token])
        row = cursor.fetchone()
    if row is None:
        return None
    token_, tracked, contact_id, on_dnc, tracking = row
    return ClickRecipient(
        token=str(token_),
        tracked=bool(tracked),
        contact_id=int(contact_id),
        facts=ContactFacts(on_dnc=bool(on_dnc), tracking_consent=tracking),
    )


@dataclass(frozen=True, slots=True)
class LinkTarget:
    id: int
    url: str
    focus_id: int | None = None


_targets: dict[str, LinkTarget] = {}


def link_get(*, redirect_id: str) -> LinkTarget | None:
    """A stored destination never changes, so it is kept in the process; misses are not."""
    target = _targets.get(redirect_id)
    if target is None:
        link = (
            TrackedLink.objects.filter(redirect_id=redirect_id).only("id", "url", "focus").first()
        )
        # Off-site on purpose, but read as the browser will: the redirect goes to that reading,
        # and a stored text no browser reads as an http(s) URL leads nowhere.
        url = redirect_target(link.url, allowed=ANY_ORIGIN) if link else None
        if link is None or url is None:
            return None
        if len(_targets) > 8192:
            _targets.clear()
        target = _targets[redirect_id] = LinkTarget(id=link.pk, url=url, focus_id=link.focus_id)
    return target


@dataclass(frozen=True, slots=True)
class EmailStats:
    sent: int
    human_opens: int
    machine_opens: int
    clicks: int
    machine_clicks: int


def email_stats(*, email: Email) -> EmailStats:
    sent = Recipient.objects.filter(send__email=email, status="sent").count()
    opens = EmailOpen.objects.filter(email=email).aggregate(
        human=Count("id", filter=Q(machine=False)), machine=Count("id", filter=Q(machine=True))
    )
    clicks = EmailClick.objects.filter(link__email=email).aggregate(
        human=Count("id", filter=Q(machine=False)), machine=Count("id", filter=Q(machine=True))
    )
    return EmailStats(
        sent=sent,
        human_opens=opens["human"],
        machine_opens=opens["machine"],
        clicks=clicks["human"],
        machine_clicks=clicks["machine"],
    )


def preview_contact_get(*, key: str) -> Contact | None:
    """The contact a preview or test send is rendered for: an id or an email address."""
    key = key.strip()
    if not key:
        return None
    if key.isdigit() and len(key) < 19:
        return Contact.objects.filter(pk=int(key)).first()
    return contact_get_by_email(email=key)


def preview_contacts_recent(*, limit: int = 50) -> list[Contact]:
    """The contacts offered first in the preview's picker: the most recently changed."""
    return list(Contact.objects.exclude(email="").order_by("-updated_at")[:limit])
