from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from emails.models import Email, EmailClick, EmailOpen, Recipient, TrackedLink


def recipient_get(*, token: str) -> Recipient | None:
    return Recipient.objects.select_related("contact", "send__email").filter(token=token).first()


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
