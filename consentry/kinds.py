"""The counted kinds: one registry row per kind of thing the product counts (a page hit, an
email sent, opened or clicked, a form submission, a focus item's view or conversion, an asset
download, …).

Each app registers its kinds in its AppConfig.ready(), as the admin's models are registered.
Storing pipeline events, the daily report series, the data-subject export and erasure, device
linking and the contact's timeline loop over this registry, so a new kind is one module (its
model and its store function) and one `kind_register(Kind(...))`; nothing else names it.
docs/architecture.md shows the path of a hit and how to add a kind.

This module imports no app: every app may import it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, Q

Event = dict[str, Any]

# The keys of a pipeline event, defined once. They are short because every hit travels
# through a spool file and the Redis stream; a kind's own keys are named in its row (`fields`).
EVENT_KEYS: Mapping[str, str] = {
    "k": "the kind's code (absent: a page hit)",
    "id": "the event id (a UUID): the stored row's event_id, so that a redelivery is one row",
    "ts": "when, in seconds since the epoch",
    "d": "the device's public id; only with a permit (the gate's decision.identify)",
    "m": "1 when a machine made it (crawler, prefetch, mail proxy): stored, not counted",
    "c": "the contact's id, where a signed link names the contact",
    # A page hit's own keys:
    "site": "the page's origin",
    "path": "the page's path, without the query",
    "title": "the page's title",
    "refd": "the referring domain (another site's only)",
    "utm_source": "UTM tag",
    "utm_medium": "UTM tag",
    "utm_campaign": "UTM tag",
    "dev": "device class: desktop, mobile, tablet or bot",
    "br": "browser family and major version",
    "v": "the visitor: keyed hash under the day's salt",
    "vp": "the visitor under yesterday's salt (the first 30 minutes after midnight)",
    "url": "the page's URL without its query (identified hits only)",
    "ref": "the referrer's URL without its query (identified hits only)",
    "lang": "the browser's language (identified hits only)",
    "res": "the screen resolution (identified hits only)",
    # Other kinds' keys:
    "t": "an open's token: a recipient's, or the email's shared pixel token",
    "s": "why an open is a machine's (agent, prefetch, apple-relay, google-proxy)",
    "l": "a click's tracked link id",
    "r": "a click's recipient token, when the gate attributed it",
    "f": "a focus event's item id",
    "a": "a focus event's action (view, conversion), or a download's asset id",
    "ds": "a dynamic-content view's slot id",
    "di": "a dynamic-content view's item id (the slot's default item)",
    "dv": "a dynamic-content view's variant id, when a variant was shown (only with a permit)",
    "u": "a video play's address, without its query",
    "sec": "a video play's seconds watched so far",
    "dur": "a video's duration in seconds, when the player knows it",
}


# The public id of the one device that every erased person's counted rows point at: it tells
# that a row was identified, not by whom, nor which rows were one person's. No browser can
# present it (issued ids are 32 random characters, and only inside a signed cookie).
ERASED_DEVICE = "erased"


@dataclass(frozen=True)
class Optional:
    """An event field that may be missing or empty; when present it must convert."""

    convert: Callable[[Any], object]


@dataclass(frozen=True)
class Series:
    """Daily figures a kind adds to one report (`stats/?kind=<report>`): each named count is
    the rows of the day that match its condition, among the rows `base` selects."""

    report: str
    counts: Mapping[str, Q]
    time_field: str = "created_at"
    # The field that names the report's object (`&object=`); None: no object filter.
    object_field: str | None = None
    base: Q = field(default_factory=Q)
    # A report computed another way (page hits read their rollups): (start, end, object id,
    # site) -> day -> figures. Takes the place of counts.
    daily: Callable[..., dict[dt.date, dict[str, int]]] | None = None
    # The figures `daily` gives, so that a day without data reads 0 for each of them.
    measures: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hook:
    """The webhook event a kind's rows send (webhooks/): one per stored row that `where`
    selects and that belongs to a contact. Anonymous rows never send one."""

    event: str
    description: str
    # The event's `data`, from a row (fetched with `related`): ids and the row's own fields.
    data: Callable[[Any], dict[str, Any]]
    where: Q = field(default_factory=Q)
    related: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kind:
    code: str
    model: type[Model]
    # How the kind's rows are found from a contact ("contact", "recipient__contact").
    owner: str
    # The key of its rows in the data-subject export document.
    export_as: str
    # Pipeline kinds: the store function (events -> rows written) and the event's own typed
    # fields, checked before it is called (a malformed event becomes a dead letter).
    store: Callable[[Sequence[Event]], int] | None = None
    fields: Mapping[str, Callable[[Any], object] | Optional] = field(default_factory=dict)
    series: tuple[Series, ...] = ()
    # The row's device field, when it has one: device linking and erasure follow it.
    device: str | None = None
    # On erasure: None, the rows go with the contact (cascade); otherwise the fields set to
    # None on the contact's rows, which stay in the counts, attributed to no one. Every
    # report reads the same figures after an erasure as before: a count holds no one. The
    # device field is pointed at the stand-in device (ERASED_DEVICE) instead, so that a
    # figure counting identified rows still counts them.
    erase_detach: tuple[str, ...] | None = None
    # And what the kept rows' own personal fields become (a submission's answers, a
    # recipient's token, an identified hit's full URL): the row keeps only what it counts by.
    erase_clear: Mapping[str, object] = field(default_factory=dict)
    export_exclude: tuple[str, ...] = ()
    # The contact's timeline: (type, detail) of a row; its time field, order and joins.
    timeline: Callable[[Any], tuple[str, dict[str, Any]]] | None = None
    timeline_time: str = "created_at"
    timeline_order: str = "-created_at"
    timeline_related: tuple[str, ...] = ()
    # The webhook event its rows send, if any.
    hook: Hook | None = None


_KINDS: dict[str, Kind] = {}


def kind_register(kind: Kind) -> Kind:
    """Called from an app's AppConfig.ready(). Registering the same code again replaces it
    (a reloaded app), a different code with the same export key is refused."""
    for other in _KINDS.values():
        if other.code != kind.code and other.export_as == kind.export_as:
            raise ValueError(f"kinds {other.code!r} and {kind.code!r} export as {kind.export_as!r}")
    _KINDS[kind.code] = kind
    return kind


def kind_unregister(code: str) -> None:
    _KINDS.pop(code, None)


def kinds() -> list[Kind]:
    """Every kind, in the order the apps registered them."""
    return list(_KINDS.values())


def kind_get(code: str) -> Kind | None:
    return _KINDS.get(code)


def reports() -> tuple[str, ...]:
    """The report names (`stats/?kind=`), in the order their first kind registered."""
    names: dict[str, None] = {}
    for kind in _KINDS.values():
        for series in kind.series:
            names.setdefault(series.report, None)
    return tuple(names)
