"""Who made a request: a person, or a machine fetching on no one's behalf or ahead of them.

The one place every counting surface asks (page hits, focus items, assets, email opens and
clicks). What a machine's hit becomes is the recorder's business: counted apart, flagged, never
tied to a device or a person.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest

from consent.ip import IPAddress, client_ip
from tracker.minimise import agent_parse

# Why a request is a machine's; the email surfaces store these (emails.models.MachineSource).
AGENT = "agent"  # a crawler's, an HTTP library's, a mail proxy's or a link scanner's agent
PREFETCH = "prefetch"  # the browser fetched ahead of the person
HEAD = "head"  # a HEAD request: no one reads its answer

# Mail privacy proxies and link scanners fetch on the reader's behalf: machine, not human.
_SCANNERS = re.compile(
    r"GoogleImageProxy|YahooMailProxy|Barracuda|Proofpoint|Mimecast|Symantec|Forcepoint|"
    r"Trend ?Micro|MessageLabs|SafeLinks|Microsoft Office Protocol Discovery|ms-office",
    re.IGNORECASE,
)


def machine_source(
    request: HttpRequest,
    *,
    mail: bool = False,
    by_address: Callable[[IPAddress], str] | None = None,
) -> str:
    """Why this request is a machine's ("" for a person).

    Every surface knows a user agent the parser marks as a crawler or an HTTP library, and a
    browser's prefetch. The email surfaces (`mail`) also know the mail proxies' and link
    scanners' agents; the web surfaces also count HEAD requests, prerenders and the older
    Purpose header as machines'. `by_address` names the proxy whose published ranges hold the
    client's address: only where a proxy fetches for the reader (an open), since a person
    browsing through iCloud Private Relay clicks from the same addresses.
    """
    if by_address is not None:
        # Before masking, in memory only: masking would blur a /24 into its neighbours.
        source = by_address(client_ip(request))
        if source:
            return source
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    # Apple Mail Privacy Protection fetched with this bare agent before it used its ranges.
    if mail and (user_agent.strip() in ("", "Mozilla/5.0") or _SCANNERS.search(user_agent)):
        return AGENT
    if agent_parse(user_agent[:1024]).machine:
        return AGENT
    if mail:
        return PREFETCH if "prefetch" in request.META.get("HTTP_SEC_PURPOSE", "").lower() else ""
    if request.method == "HEAD":
        return HEAD
    purpose = request.META.get("HTTP_SEC_PURPOSE", "") + request.META.get("HTTP_PURPOSE", "")
    if "prefetch" in purpose.lower() or "prerender" in purpose.lower():
        return PREFETCH
    return ""
