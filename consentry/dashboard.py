"""The admin home's reads: today's and the last seven days' figures, the consent rate, the
recent sends, the pipeline's health and the links an operator starts from.

Every figure is read where the reports page and the stats API read it (tracker/reports.py,
which loops over the counted kinds' registry), and the health is /healthz's own report, so the
home cannot disagree with either. None is a figure this server does not have (a report no kind
registers, a rate with nothing to divide by, a lag Redis did not give): the home shows it as
"—", never as 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from consentry.health import health_check
from consentry.kinds import reports
from consentry.management.commands.bootstrap import DEMO
from consentry.models import SetupStep
from emails.models import EmailSend, RecipientStatus
from tracker.reports import consent_rate, series_totals, stats_daily
from webhooks.models import Endpoint

# Today and the six days before it.
WEEK_DAYS = 7

# The figures the home shows: (report, heading, ((measure, label), ...)). The report is the
# registry's report name (`stats/?kind=`), each measure as docs/metrics.md defines it.
HEADLINES: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "page",
        "Page hits",
        (
            ("anonymous_hits", "Anonymous hits"),
            ("identified_hits", "Identified hits"),
            ("anonymous_visitors", "Anonymous visitors"),
            ("identified_visitors", "Identified visitors"),
        ),
    ),
    (
        "form",
        "Forms",
        (("submissions", "Submissions"), ("identified_submissions", "Identified submissions")),
    ),
    ("focus", "Focus items", (("views", "Views"), ("conversions", "Conversions"))),
    (
        "email",
        "Emails",
        (("sent", "Sent"), ("human_opens", "Opens by people"), ("clicks", "Clicks by people")),
    ),
)

# How the recent sends name each recipient status; a status not named here shows its label.
STATUS_WORDS: dict[str, str] = {
    RecipientStatus.SENT: "sent",
    RecipientStatus.QUEUED: "queued",
    RecipientStatus.FAILED: "failed",
    RecipientStatus.SKIPPED_DNC: "skipped (Do-Not-Contact)",
    RecipientStatus.SKIPPED_CONSENT: "skipped (no consent)",
    RecipientStatus.EXTERNAL: "rendered for the site's sender",
}

# The home's links: (label, URL name, permission needed, or None for any staff member).
LINKS: tuple[tuple[str, str, str | None], ...] = (
    ("New form", "admin:forms_form_add", "forms.add_form"),
    ("New focus item", "admin:focus_focusitem_add", "focus.add_focusitem"),
    ("New email", "admin:emails_email_add", "emails.add_email"),
    ("Reports", "admin:reports", None),
    ("Privacy settings", "admin:privacy-settings", None),
    ("Cookie declaration", "privacy-cookies", None),
    ("Dead letters", "admin:tracker_deadletter_changelist", "tracker.view_deadletter"),
    ("API docs", "api-docs", None),
)


@dataclass(frozen=True)
class Figure:
    key: str  # report.measure
    label: str
    today: int | None
    week: int | None


@dataclass(frozen=True)
class Panel:
    report: str
    title: str
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class SendSummary:
    id: int
    email_id: int
    email: str
    created_at: dt.datetime
    recipients: int
    # (status word, recipients) for each status some recipient has, in STATUS_WORDS' order.
    statuses: tuple[tuple[str, int], ...]

    @property
    def status(self) -> str:
        """Each status with its recipients, as in "3 sent, 1 queued"; "no recipients" for a
        send that reached no one."""
        return ", ".join(f"{n} {word}" for word, n in self.statuses) or "no recipients"


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class WebhooksAlert:
    """ "1 endpoint switched off", with a link to each endpoint."""

    count: int
    state: str
    endpoints: tuple[Link, ...]


@dataclass(frozen=True)
class Home:
    today: dt.date
    week_start: dt.date
    panels: tuple[Panel, ...]
    # The consent rate as a percentage ("67 %").
    consent_today: str | None
    consent_week: str | None
    # None: this user may not see the sends.
    sends: tuple[SendSummary, ...] | None
    health: dict[str, Any]
    links: tuple[Link, ...]
    # Endpoints switched off or failing, for a user who may see them.
    webhooks: tuple[WebhooksAlert, ...] = ()


def figures_read(*, today: dt.date) -> tuple[Panel, ...]:
    """The HEADLINES figures of today and of the last WEEK_DAYS days (visitors: the days'
    uniques added up, as every report adds them: an anonymous visitor is not followed from
    one day to the next)."""
    registered = set(reports())
    start = today - dt.timedelta(days=WEEK_DAYS - 1)
    panels = []
    for report, title, measures in HEADLINES:
        day: dict[str, Any] = {}
        week: dict[str, int] = {}
        if report in registered:
            rows = stats_daily(kind=report, start=start, end=today)
            day, week = rows[-1], series_totals(rows)
        figures = tuple(
            Figure(
                key=f"{report}.{measure}",
                label=label,
                today=day.get(measure),
                week=week.get(measure),
            )
            for measure, label in measures
        )
        panels.append(Panel(report=report, title=title, figures=figures))
    return tuple(panels)


def consent_rates_read(*, today: dt.date) -> tuple[str | None, str | None]:
    """The consent rate (tracker.reports.consent_rate) of today and of the last WEEK_DAYS,
    as percentages."""
    start = today - dt.timedelta(days=WEEK_DAYS - 1)
    return (
        _percent(consent_rate(start=today, end=today)["rate"]),
        _percent(consent_rate(start=start, end=today)["rate"]),
    )


def _percent(rate: float | None) -> str | None:
    return None if rate is None else f"{rate * 100:.0f} %"


def sends_recent(*, limit: int = 5) -> tuple[SendSummary, ...]:
    """The newest sends, each with its recipients counted by status."""
    order = [*STATUS_WORDS, *(s for s in RecipientStatus.values if s not in STATUS_WORDS)]
    labels = dict(RecipientStatus.choices)
    by_status = {
        f"n_{status}": Count("recipients", filter=Q(recipients__status=status)) for status in order
    }
    sends = (
        EmailSend.objects.select_related("email")
        .annotate(n_recipients=Count("recipients"), **by_status)
        .order_by("-created_at", "-id")[:limit]
    )
    return tuple(
        SendSummary(
            id=send.pk,
            email_id=send.email_id,
            email=send.email.name,
            created_at=send.created_at,
            recipients=send.n_recipients,  # type: ignore[attr-defined]
            statuses=tuple(
                (STATUS_WORDS.get(status, labels[status].lower()), getattr(send, f"n_{status}"))
                for status in order
                if getattr(send, f"n_{status}")
            ),
        )
        for send in sends
    )


def links_read(*, user: Any) -> tuple[Link, ...]:
    """The quick links this user may follow (a link to a page that answers 403 is no link)."""
    links = []
    for label, name, permission in LINKS:
        if permission is not None and not user.has_perm(permission):
            continue
        try:
            links.append(Link(label=label, url=reverse(name)))
        except NoReverseMatch:  # an app left out of this installation
            continue
    return tuple(links)


def site_url_read() -> str | None:
    """Where the admin's "View site" leads: the demo page once the demo is loaded, otherwise
    this server's root page if one is installed; None (no link) rather than a link to a 404."""
    if SetupStep.objects.filter(name=DEMO).exists():
        return reverse("demo")
    try:
        resolve("/")
    except Resolver404:
        return None
    return "/"


def webhooks_alerts_read() -> tuple[WebhooksAlert, ...]:
    """The endpoints the product switched off, and the active ones whose attempts all fail."""
    found = Endpoint.objects.filter(
        Q(active=False, disabled_reason__gt="") | Q(active=True, failing_since__isnull=False)
    ).order_by("id")
    off = [p for p in found if not p.active]
    failing = [p for p in found if p.active]
    return tuple(
        WebhooksAlert(
            count=len(endpoints),
            state=state,
            endpoints=tuple(
                Link(label=str(p), url=reverse("admin:webhooks_endpoint_change", args=[p.pk]))
                for p in endpoints
            ),
        )
        for state, endpoints in (("switched off", off), ("failing", failing))
        if endpoints
    )


def home_read(*, user: Any, today: dt.date) -> Home:
    consent_today, consent_week = consent_rates_read(today=today)
    return Home(
        today=today,
        week_start=today - dt.timedelta(days=WEEK_DAYS - 1),
        panels=figures_read(today=today),
        consent_today=consent_today,
        consent_week=consent_week,
        sends=sends_recent() if user.has_perm("emails.view_emailsend") else None,
        health=health_check()[1],
        links=links_read(user=user),
        webhooks=webhooks_alerts_read() if user.has_perm("webhooks.view_endpoint") else (),
    )
