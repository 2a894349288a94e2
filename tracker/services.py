"""Recording a page hit: the one function every page-tracking surface calls."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from consent.gate import Decision, device_id_for
from consent.ip import masked_client_ip
from consentry.sites import site_tracked
from tracker.enqueue import event_enqueue
from tracker.machines import machine_source
from tracker.minimise import (
    UTM_KEYS,
    Page,
    agent_parse,
    page_parse,
    referrer_domain,
    url_without_query,
    visitor_hash,
)
from tracker.salts import salt_for

# Within this long after midnight a hit also carries yesterday's visitor hash, so that a
# session crossing midnight continues instead of counting twice.
SESSION_GAP = dt.timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class HitResult:
    counted: bool
    identified: bool
    # The device the response should remember (written only if the decision permits).
    device_id: str | None


@dataclass(frozen=True, slots=True)
class Identity:
    machine: bool
    # The device the hit is tied to; None for anonymous hits.
    device_id: str | None


def identity_of(*, request: HttpRequest, decision: Decision) -> Identity:
    """Who a hit may be tied to: a device only with a permit, never a machine. A browser with
    a permit but no device yet gets a new one (the response's cookie is written by the gate)."""
    machine = bool(machine_source(request))
    return Identity(machine=machine, device_id=None if machine else device_id_for(decision))


def counted_event(
    *, request: HttpRequest, decision: Decision, kind: str, **fields: object
) -> tuple[dict[str, object], Identity]:
    """The pipeline event of a counted hit on a surface (focus item, asset), tied to a device
    only with a permit (see identity_of); machines are flagged, never identified."""
    identity = identity_of(request=request, decision=decision)
    event: dict[str, object] = {
        "k": kind,
        "id": str(uuid.uuid4()),
        "ts": round(time.time(), 3),
        **fields,
    }
    if identity.device_id:
        event["d"] = identity.device_id
    elif identity.machine:
        event["m"] = 1
    return event, identity


def hit_record(
    *,
    request: HttpRequest,
    decision: Decision,
    page: Page,
    title: str = "",
    referrer: str = "",
    language: str = "",
    resolution: str = "",
    utm: dict[str, str] | None = None,
    event_id: str | None = None,
) -> HitResult:
    """Count a hit on `page` (parsed once, by the view that read it) as the decision allows:
    anonymously, identified, or not at all.

    Anonymous hits never carry a device or contact; identified hits need decision.identify.
    The raw IP and user agent are used here, in the request, and never leave it.
    """
    if not decision.count:
        return HitResult(counted=False, identified=False, device_id=decision.device_id)
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:1024]
    agent = agent_parse(user_agent)
    identity = identity_of(request=request, decision=decision)
    now = time.time()
    moment = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    masked_ip = masked_client_ip(request)
    visitor = visitor_hash(
        salt=salt_for(moment.date()), site=page.site, masked_ip=masked_ip, user_agent=user_agent
    )
    previous = ""
    midnight = dt.datetime.combine(moment.date(), dt.time(), tzinfo=dt.UTC)
    if moment - midnight < SESSION_GAP:
        previous = visitor_hash(
            salt=salt_for(moment.date() - dt.timedelta(days=1)),
            site=page.site,
            masked_ip=masked_ip,
            user_agent=user_agent,
        )
    tags = {**page.utm, **{k: v[:200] for k, v in (utm or {}).items() if k in UTM_KEYS and v}}
    try:
        event_uuid = str(uuid.UUID(event_id)) if event_id else str(uuid.uuid4())
    except ValueError:
        event_uuid = str(uuid.uuid4())
    event: dict[str, object] = {
        "id": event_uuid,
        "ts": round(now, 3),
        "site": page.site,
        "path": page.path,
        "title": title[:300],
        "refd": referrer_domain(referrer, site=page.site),
        "dev": agent.device_class,
        "br": agent.browser,
        "v": visitor,
        **tags,
    }
    if previous:
        event["vp"] = previous
    if identity.device_id is not None:
        event.update(
            d=identity.device_id,
            url=f"{page.site}{page.path}",
            ref=url_without_query(referrer),
            lang=language[:35],
            res=resolution[:20],
        )
    elif identity.machine:
        event["m"] = 1
    event_enqueue(event)
    return HitResult(
        counted=True,
        identified=identity.device_id is not None,
        device_id=identity.device_id or decision.device_id,
    )


def site_allowed(site: str, request: HttpRequest) -> bool:
    """Sites this tracker counts for: the tracked sites (consentry.sites: the admin's list,
    seeded by TRACKED_SITES), and the tracker's own origin."""
    if site_tracked(origin=site):
        return True
    public = page_parse(settings.PUBLIC_URL)  # cached: one parse per process
    if public is not None and site == public.site:
        return True
    return site == f"{request.scheme}://{request.get_host()}".lower()
