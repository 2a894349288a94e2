"""Turn a raw request into the least the pipeline needs: no raw IP, no raw user agent, no
query string (secrets hide there), referrers cut to their domain for anonymous hits."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from urllib.parse import parse_qsl, urlsplit

from ua_parser import parse as ua_parse

# HTTP clients that are not people, beyond the crawlers uap-core marks as "Spider".
_MACHINE_FAMILIES = frozenset(
    {
        "curl",
        "Wget",
        "Python Requests",
        "Python-urllib",
        "Go-http-client",
        "HeadlessChrome",
        "PhantomJS",
        "okhttp",
        "Apache-HttpClient",
        "Java",
        "libwww-perl",
        "aiohttp",
        "httpx",
    }
)
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")


@dataclass(frozen=True, slots=True)
class Agent:
    browser: str  # family and major version, e.g. "Chrome 120"
    device_class: str  # desktop, mobile, tablet or bot
    machine: bool


# A site sees a few thousand distinct user agents a day; parsing one runs hundreds of regexes.
@lru_cache(maxsize=16384)
def agent_parse(user_agent: str) -> Agent:
    if not user_agent.strip():
        return Agent(browser="", device_class="bot", machine=True)
    result = ua_parse(user_agent)
    family = result.user_agent.family if result.user_agent else "Other"
    major = result.user_agent.major if result.user_agent and result.user_agent.major else ""
    browser = f"{family} {major}".strip()[:64]
    device = result.device.family if result.device else ""
    os_family = result.os.family if result.os else ""
    if device == "Spider" or family in _MACHINE_FAMILIES:
        return Agent(browser=browser, device_class="bot", machine=True)
    if device == "iPad" or (os_family == "Android" and "Mobile" not in user_agent):
        device_class = "tablet"
    elif os_family in ("iOS", "Android") or "Mobile" in user_agent:
        device_class = "mobile"
    else:
        device_class = "desktop"
    return Agent(browser=browser, device_class=device_class, machine=False)


@dataclass(frozen=True, slots=True)
class Page:
    site: str  # scheme://host[:port], lower case
    path: str
    utm: Mapping[str, str]  # read-only: one Page is shared by every hit on the same URL


# A request parses its page URL several times (origin check, hit, referrer) and most hits are
# on a few thousand URLs: parse each once.
@lru_cache(maxsize=4096)
def page_parse(url: str) -> Page | None:
    """The page's origin, path and UTM tags; None when it is not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    site = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    utm = {k: v[:200] for k, v in parse_qsl(parts.query) if k in UTM_KEYS and v}
    return Page(site=site, path=(parts.path or "/")[:1000], utm=MappingProxyType(utm))


def referrer_domain(referrer: str, *, site: str) -> str:
    """The referring host, or "" for none and for links within the same site."""
    page = page_parse(referrer) if referrer else None
    if page is None or page.site == site:
        return ""
    return urlsplit(page.site).hostname or ""


def url_without_query(url: str) -> str:
    page = page_parse(url)
    return f"{page.site}{page.path}" if page else ""


def visitor_hash(*, salt: bytes, site: str, masked_ip: str, user_agent: str) -> str:
    """Keyed BLAKE2b: without the day's salt (deleted after 48 h) it cannot be recomputed."""
    data = b"\x00".join((site.encode(), masked_ip.encode(), user_agent.encode("utf-8", "replace")))
    return hashlib.blake2b(data, key=salt, digest_size=16).hexdigest()
