from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from consent.gate import ContactFacts
from consent.models import Action, ConsentRecord, Purpose
from consentry.redirects import ANY_ORIGIN, redirect_target
from contacts.models import Channel, Contact, DoNotContact
from contacts.selectors import contact_get_by_email
from emails.models import (
    Email,
    EmailClick,
    EmailOpen,
    EmailSend,
    MachineSource,
    Recipient,
    RecipientStatus,
    SendBasis,
    TrackedLink,
)


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


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Reach:
    """Who a send, or every send of an email, reached, and how many of them opened and
    clicked (docs/metrics.md, "Email"). Only recipients whose opens and clicks can be told
    apart are in the rates: those sent a tracked message (tracking consent at send time)."""

    sent: int  # accepted by the mail server
    failed: int  # refused by the mail server (its answer is on the recipient)
    skipped: int  # not sent: Do-Not-Contact, or no basis covered them at send time
    tracked: int  # sent with a pixel and links of their own
    unique_opens: int  # tracked recipients who opened (a person's open, or a click)
    unique_clicks: int  # tracked recipients who clicked (a person's click)

    @property
    def open_rate(self) -> float | None:
        return _share(self.unique_opens, self.tracked)

    @property
    def click_rate(self) -> float | None:
        return _share(self.unique_clicks, self.tracked)

    @property
    def click_to_open(self) -> float | None:
        return _share(self.unique_clicks, self.unique_opens)


def _reach(recipients: QuerySet[Recipient]) -> dict[str, int]:
    # A click is a person reading the message even when their client blocked its images: it
    # counts as an open too, so that no one clicks more than opens.
    opened = EmailOpen.objects.filter(recipient=OuterRef("pk"), machine=False)
    clicked = EmailClick.objects.filter(recipient=OuterRef("pk"), machine=False)
    counted = Q(status=RecipientStatus.SENT, tracked=True)
    # Named apart from the fields they count (an aggregate named "tracked" would hide the
    # field in the filters).
    figures = recipients.annotate(opened=Exists(opened), clicked=Exists(clicked)).aggregate(
        n_sent=Count("pk", filter=Q(status=RecipientStatus.SENT)),
        n_failed=Count("pk", filter=Q(status=RecipientStatus.FAILED)),
        n_skipped=Count(
            "pk",
            filter=Q(status__in=[RecipientStatus.SKIPPED_DNC, RecipientStatus.SKIPPED_CONSENT]),
        ),
        n_tracked=Count("pk", filter=counted),
        n_unique_opens=Count("pk", filter=counted & (Q(opened=True) | Q(clicked=True))),
        n_unique_clicks=Count("pk", filter=counted & Q(clicked=True)),
    )
    return {name.removeprefix("n_"): int(value or 0) for name, value in figures.items()}


@dataclass(frozen=True)
class SendStats(Reach):
    send_id: int
    created_at: dt.datetime
    external: bool


@dataclass(frozen=True)
class EmailStats(Reach):
    """An email's figures over all its sends, with what no send can claim: the opens of the
    shared pixel (recipients who did not consent to tracking) and the machines'."""

    human_opens: int  # every open by a person, the same person's again included
    anonymous_opens: int  # of those, the shared pixel's: counted, tied to no recipient
    machine_opens: int  # proxies, prefetches and scanners: never in the rates
    machine_sources: dict[str, int]  # machine opens by why they are a machine's
    clicks: int  # every click by a person
    machine_clicks: int


def send_stats(*, send: EmailSend) -> SendStats:
    return SendStats(
        send_id=send.pk,
        created_at=send.created_at,
        external=send.external,
        **_reach(Recipient.objects.filter(send=send)),
    )


def sends_stats(*, email: Email) -> list[SendStats]:
    """Each send of the email, newest first."""
    return [send_stats(send=send) for send in email.sends.order_by("-created_at", "-id")]


def email_stats(*, email: Email) -> EmailStats:
    opens = EmailOpen.objects.filter(email=email).aggregate(
        human=Count("id", filter=Q(machine=False)),
        anonymous=Count("id", filter=Q(machine=False, recipient__isnull=True)),
        machine=Count("id", filter=Q(machine=True)),
    )
    sources = {source: 0 for source in MachineSource.values}
    for row in (
        EmailOpen.objects.filter(email=email, machine=True)
        .values("machine_source")
        .annotate(n=Count("id"))
    ):
        # Opens recorded before the source was kept say nothing: "unknown".
        sources[row["machine_source"] or "unknown"] = int(row["n"])
    clicks = EmailClick.objects.filter(link__email=email).aggregate(
        human=Count("id", filter=Q(machine=False)), machine=Count("id", filter=Q(machine=True))
    )
    return EmailStats(
        **_reach(Recipient.objects.filter(send__email=email)),
        human_opens=int(opens["human"]),
        anonymous_opens=int(opens["anonymous"]),
        machine_opens=int(opens["machine"]),
        machine_sources=sources,
        clicks=int(clicks["human"]),
        machine_clicks=int(clicks["machine"]),
    )


# The newest email-consent action of each contact, and their email Do-Not-Contact: what a
# send's basis rule reads, in the same query as the contacts.
def _email_consent() -> Subquery:
    return Subquery(
        ConsentRecord.objects.filter(contact=OuterRef("pk"), purpose=Purpose.EMAIL)
        .order_by("-created_at", "-id")
        .values("action")[:1]
    )


def contacts_with_basis(*, contacts: QuerySet[Contact], named: str) -> QuerySet[Contact]:
    """The contacts annotated with `send_basis`: the basis each may be mailed under now for an
    email that names `named`, or None when none covers them. One rule, in SQL, for the plan
    shown before a send and the check made at send time.

    Do-Not-Contact for email wins over every basis; a granted email consent is always the
    basis recorded when there is one; soft opt-in covers those who never withdrew or
    objected; a transactional message covers everyone else."""
    whens = [
        When(email_dnc=True, then=Value(None)),
        When(email_consent=Action.GRANT, then=Value(SendBasis.CONSENT.value)),
    ]
    if named == SendBasis.SOFT_OPT_IN:
        whens.append(
            When(
                Q(email_consent__isnull=True)
                | ~Q(email_consent__in=[Action.WITHDRAW, Action.OBJECT]),
                then=Value(SendBasis.SOFT_OPT_IN.value),
            )
        )
    elif named == SendBasis.TRANSACTIONAL:
        whens.append(When(email_dnc=False, then=Value(SendBasis.TRANSACTIONAL.value)))
    return contacts.annotate(
        email_consent=_email_consent(),
        email_dnc=Exists(
            DoNotContact.objects.filter(contact=OuterRef("pk"), channel=Channel.EMAIL)
        ),
        send_basis=Case(*whens, default=Value(None), output_field=CharField(null=True)),
    )


@dataclass(frozen=True, slots=True)
class SendPlan:
    """Who a send would reach, read before it is made: per basis, and who it leaves out."""

    by_basis: dict[str, int]  # basis -> recipients it covers, every basis named
    skipped_dnc: int
    skipped_consent: int
    no_address: int

    @property
    def recipients(self) -> int:
        return sum(self.by_basis.values())

    def rows(self) -> list[tuple[str, str, int]]:
        """(basis, label, count) per basis, for the confirmation page."""
        return [(value, str(label), self.by_basis[value]) for value, label in SendBasis.choices]


def send_plan(*, email: Email, contacts: QuerySet[Contact]) -> SendPlan:
    """How many of these contacts each basis covers if the email is sent now (one query)."""
    annotated = contacts_with_basis(contacts=contacts, named=email.basis)
    has_address = ~Q(email="")
    figures = annotated.aggregate(
        no_address=Count("pk", filter=Q(email="")),
        skipped_dnc=Count("pk", filter=has_address & Q(email_dnc=True)),
        skipped_consent=Count("pk", filter=has_address & Q(email_dnc=False, send_basis=None)),
        **{
            value: Count("pk", filter=has_address & Q(send_basis=value))
            for value in SendBasis.values
        },
    )
    return SendPlan(
        by_basis={value: int(figures[value]) for value in SendBasis.values},
        skipped_dnc=int(figures["skipped_dnc"]),
        skipped_consent=int(figures["skipped_consent"]),
        no_address=int(figures["no_address"]),
    )


def recipient_basis(*, recipient: Recipient) -> str | None:
    """The basis the recipient may be mailed under now, read fresh (a withdrawal a second ago
    counts), or None."""
    contacts = Contact.objects.filter(pk=recipient.addressee.pk)
    contact = contacts_with_basis(contacts=contacts, named=recipient.send.email.basis).first()
    basis = getattr(contact, "send_basis", None)
    return str(basis) if basis else None


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


def emails_listed(*, archived: bool | None = False) -> QuerySet[Email]:
    """The emails a list shows: current ones by default, archived ones when asked (True),
    or both (None)."""
    emails = Email.objects.order_by("id")
    if archived is None:
        return emails
    return emails.filter(archived_at__isnull=not archived)


def email_was_sent(*, email: Email) -> bool:
    return EmailSend.objects.filter(email=email).exists()
