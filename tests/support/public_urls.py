"""Every public URL pattern, with a sample path to request it by. A test fails when a new
pattern is added without a sample here, so no surface escapes the cookie checks."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

from consent.middleware import is_public

SAMPLES: dict[str, list[str]] = {
    "mtc-js": ["/mtc.js"],
    "mtc-consent-js": ["/mtc-consent/klaro.js", "/mtc-consent/unknown.js"],
    "mtc-event": ["/mtc/event"],
    "mtc-pixel": ["/mtracking.gif", "/mtracking.gif?page_url=http://testserver/p"],
    "email-open": ["/email/" + "t" * 32 + ".gif"],
    "email-click": ["/r/" + "r" * 32 + "?ct=forged"],
    "email-unsubscribe": ["/email/unsubscribe/" + "t" * 32],
    "email-resubscribe": ["/email/resubscribe/" + "t" * 32],
    "email-view": ["/email/view/" + "t" * 32],
    "email-confirm": ["/email/confirm/" + "t" * 32, "/email/confirm/InhYIg:1a2b3c:forged"],
    "email-preferences": ["/email/preferences/" + "t" * 32],
    "email-bounce-webhook": ["/email/webhook/bounce"],
    "form-generate-js": ["/form/generate.js?id=1", "/form/generate.js?id=1&kiosk=1"],
    "form-submit": ["/form/submit?formId=1"],
    "form-embed": ["/form/embed/1"],
    "form-page": ["/form/1"],
    "form-messenger-js": ["/form/messenger.js"],
    "mautic-form-js": ["/media/js/mautic-form.js"],
    "focus-js": ["/focus/1.js"],
    "focus-viewpixel": ["/focus/1/viewpixel.gif"],
    "focus-preview": ["/focus/1/preview"],
    "focus-display-js": ["/focus/1/display.js"],
    "focus-tracking-js": ["/focus/1/tracking.js"],
    "mautic-essential-js": ["/mautic-essential.js"],
    "mautic-tracking-js": ["/mautic-tracking.js"],
    "asset": ["/asset/price-list", "/asset/../../etc/passwd"],
    "landing": ["/p/autumn"],
    "dwc-js": ["/mtc-dwc.js"],
    "dwc-batch": ["/dwc?slot=hero", "/dwc"],
    "dwc-slot": ["/dwc/hero", "/dwc/..%2f"],
    "video-hit": [
        "/video/hit?guid=0f8fad5b-d9cb-469f-a165-70867728950e&url=https://cdn.example.com/v.mp4"
        "&duration=60&total_watched=5"
    ],
    "video-gate": ["/video/gate?url=https://cdn.example.com/v.mp4"],
    "video-gate-js": ["/video/gate.js"],
    "privacy-cookies": ["/privacy/cookies"],
    "privacy-cookies-json": ["/privacy/cookies.json"],
    "privacy-choices": ["/privacy/choices"],
    "healthz": ["/healthz"],
    "favicon": ["/favicon.ico"],
    "demo": ["/demo/"],
}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def public_patterns() -> list[tuple[str, str | None]]:
    return [
        (route, name)
        for route, name in _walk(get_resolver().url_patterns)
        if is_public("/" + route)
    ]


def sample_paths() -> list[str]:
    return [path for paths in SAMPLES.values() for path in paths]
