from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, Subquery

from consent.gate import ContactFacts
from consent.models import ConsentRecord, Purpose
from contacts.models import DoNotContact
from emails.models import Email, EmailClick, EmailOpen, Recipient, TrackedLink


def recipient_get(*, token: str) -> Recipient | None:
    return Recipient.objects.select_related("contact", "send__email").filter(token=token).first()


def recipient_get_with_facts(*, token: str) -> tuple[Recipient, ContactFacts] | None:
    """The recipient with what the gate needs to know of its contact, in one query (a tracked
    link is clicked on every campaign's busiest minutes)."""
    newest = (
        ConsentRecord.objects.filter(contact_id=OuterRef("contact_id"), purpose=Purpose.TRACKING)
        .order_by("-created_at", "-id")
        .values("action")[:1]
    )
    recipient = (
        Recipient.objects.select_related("contact", "send__email")
        .annotate(
            contact_on_dnc=Exists(DoNotContact.objects.filter(contact_id=OuterRef("contact_id"))),
            contact_tracking=Subquery(newest),
        )
        .filter(token=token)
        .first()
    )
    if recipient is None:
        return None
    facts = ContactFacts(
        on_dnc=bool(recipient.contact_on_dnc), tracking_consent=recipient.contact_tracking
    )
    return recipient, facts


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
        if link is None:
            return None
        if len(_targets) > 8192:
            _targets.clear()
        target = _targets[redirect_id] = LinkTarget(
            id=link.pk, url=link.url, focus_id=link.focus_id
        )
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
