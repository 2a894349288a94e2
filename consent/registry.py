"""The cookie registry: every cookie this server can write, and nothing else.

The gate writes only cookies listed here; the cookie declaration, the cookie audit and the
safety-net middleware all read this one list.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# Thirteen months: the longest a consent or tracking cookie may live (CNIL, EDPB guidance).
MAX_LIFETIME_DAYS = 395


class Category(enum.StrEnum):
    NECESSARY = "necessary"
    TRACKING = "tracking"
    FUNCTIONAL = "functional"


@dataclass(frozen=True, slots=True)
class CookieSpec:
    name: str
    category: Category
    purpose: str
    when: str
    lifetime_days: int
    # Signing salt: a value signed for one cookie is worthless in another.
    salt: str
    http_only: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.lifetime_days <= MAX_LIFETIME_DAYS:
            raise ValueError(f"{self.name}: lifetime must be 1..{MAX_LIFETIME_DAYS} days")

    @property
    def max_age(self) -> int:
        return self.lifetime_days * 86400

    @property
    def prefix(self) -> str | None:
        """For a family of cookies named like "consentry_focus_{id}": the part before "{"."""
        return self.name.split("{", 1)[0] if "{" in self.name else None

    def named(self, key: object) -> str:
        """The name of one member of a family ("consentry_focus_{id}" -> "consentry_focus_7")."""
        assert self.prefix is not None
        return f"{self.prefix}{key}"


CONSENT = CookieSpec(
    name="consentry_consent",
    category=Category.NECESSARY,
    purpose="Remembers this browser's tracking choice (granted, refused or objected), "
    "the notice version it answered and when.",
    when="When the visitor makes or changes a choice.",
    lifetime_days=MAX_LIFETIME_DAYS,
    salt="consentry.cookie.consent",
)

DEVICE = CookieSpec(
    name="consentry_device",
    category=Category.TRACKING,
    purpose="A signed random device id that ties this browser's hits to a contact.",
    when="Only with a permit: the visitor granted tracking, or the tracking mode is 'always'.",
    lifetime_days=MAX_LIFETIME_DAYS,
    salt="consentry.cookie.device",
)

FOCUS = CookieSpec(
    # One cookie per item: two items shown at once cannot overwrite each other's memory.
    name="consentry_focus_{id}",
    category=Category.FUNCTIONAL,
    purpose="When this focus item was last shown, so it keeps to its frequency; holds no "
    "identifier.",
    when="When a focus item that is not shown on every page is shown.",
    lifetime_days=30,
    salt="consentry.cookie.focus",
)

REGISTRY: tuple[CookieSpec, ...] = (CONSENT, DEVICE, FOCUS)
BY_NAME = {spec.name: spec for spec in REGISTRY if spec.prefix is None}


def spec_for(name: str) -> CookieSpec | None:
    """The registry entry a cookie name belongs to, if any."""
    if name in BY_NAME:
        return BY_NAME[name]
    return next((s for s in REGISTRY if s.prefix and name.startswith(s.prefix)), None)


TRACKING_COOKIES = frozenset(s.name for s in REGISTRY if s.category is Category.TRACKING)

# Mautic's cookies: expired on sight wherever a browser still carries them.
LEGACY_COOKIES = frozenset(
    {
        "mtc_id",
        "mtc_sid",
        "mautic_device_id",
        "mautic_referer_id",
        "mautic_session_id",
        "mautic_consent",
    }
)
