"""The only code that writes or expires cookies on public responses.

A view hands its response and its Decision to `apply`; a visitor's explicit choice is written
by `choice_write`, or by `apply` when the decision holds a choice made in the same request. Both
mark what they wrote on the response, and the safety-net middleware strips anything else.
"""

from __future__ import annotations

import time
from http.cookies import Morsel

from django.conf import settings
from django.core import signing
from django.http import HttpResponseBase

from consent import registry
from consent.gate import Browser, Choice, Decision, StoredChoice, choice_stored

# Attribute on a response: cookie keys the gate wrote or expired for it.
MARK = "_consentry_cookies"


def _mark(response: HttpResponseBase, key: str) -> None:
    marked: set[str] = getattr(response, MARK, set())
    marked.add(key)
    setattr(response, MARK, marked)


def permitted_keys(response: HttpResponseBase) -> set[str]:
    return set(getattr(response, MARK, set()))


def _write(
    response: HttpResponseBase,
    spec: registry.CookieSpec,
    value: str,
    *,
    issued_at: int,
    name: str | None = None,
) -> None:
    # The expiry is fixed at first issue: re-writing a cookie never extends its life.
    expires_at = issued_at + spec.max_age
    remaining = expires_at - int(time.time())
    if remaining <= 0:
        return
    # Django derives the Expires attribute from max_age, so both say the same first expiry.
    response.set_cookie(
        name or spec.name,
        value,
        max_age=remaining,
        domain=settings.COOKIE_DOMAIN,
        secure=settings.COOKIE_SECURE,
        httponly=spec.http_only,
        samesite=settings.COOKIE_SAMESITE,
    )
    _mark(response, name or spec.name)


def _expire(response: HttpResponseBase, name: str) -> None:
    response.delete_cookie(name, samesite=settings.COOKIE_SAMESITE)
    _mark(response, name)
    if settings.COOKIE_DOMAIN:
        # A cookie set with a Domain attribute only goes away with the same attribute; the
        # response holds one morsel per key, so the domain twin gets a key of its own.
        twin: Morsel[str] = Morsel()
        twin.set(name, "", '""')
        twin.update(
            {
                "expires": "Thu, 01 Jan 1970 00:00:00 GMT",
                "max-age": "0",
                "path": "/",
                "domain": settings.COOKIE_DOMAIN,
            }
        )
        key = f"{name}@{settings.COOKIE_DOMAIN}"
        response.cookies[key] = twin
        _mark(response, key)


def device_cookie_value(device_id: str, issued_at: int) -> str:
    return signing.Signer(salt=registry.DEVICE.salt).sign(f"{device_id}.{issued_at}")


def apply(response: HttpResponseBase, decision: Decision, *, device_id: str | None = None) -> None:
    """Write exactly what the decision permits and expire what it forbids.

    `device_id` is the device this response should remember; it is written only when the
    decision permits storing. (Mautic's legacy cookies are expired by the middleware, on
    every public response.)
    """
    browser = decision.browser
    # The reason code, for the operator's cookie audit and debugging: it names no one.
    response["X-Consentry-Decision"] = decision.reason.value
    if decision.chosen is not None:
        _choice_write(response, decision.chosen)
    if decision.store and device_id is not None:
        current = browser.device
        if current is None or current.device_id != device_id:
            now = int(time.time())
            _write(response, registry.DEVICE, device_cookie_value(device_id, now), issued_at=now)
    if decision.clear:
        for name in browser.present & registry.TRACKING_COOKIES:
            _expire(response, name)
    if decision.revokes_grant and browser.choice is not None:
        choice_write(
            response,
            browser,
            choice=Choice.REFUSED,
            notice_version=browser.choice.notice_version,
            dnc=True,
        )


def legacy_expire(response: HttpResponseBase, present: set[str] | frozenset[str]) -> None:
    """Expire Mautic's cookies (mtc_id, mautic_device_id, …) that the request carried."""
    for name in sorted(present & registry.LEGACY_COOKIES):
        _expire(response, name)


def choice_write(
    response: HttpResponseBase,
    browser: Browser,
    *,
    choice: Choice,
    notice_version: str,
    dnc: bool = False,
) -> StoredChoice:
    """Remember the visitor's explicit choice on their browser (strictly necessary), or the
    refusal Do-Not-Contact stands for (`dnc`)."""
    stored = choice_stored(browser, choice=choice, notice_version=notice_version, dnc=dnc)
    _choice_write(response, stored)
    return stored


def _choice_write(response: HttpResponseBase, stored: StoredChoice) -> None:
    payload: dict[str, object] = {
        "s": stored.choice.value,
        "v": stored.notice_version,
        "t": stored.chosen_at,
        "i": stored.issued_at,
        "k": stored.browser_key,
    }
    if stored.dnc:
        payload["d"] = 1
    value = signing.dumps(payload, salt=registry.CONSENT.salt)
    _write(response, registry.CONSENT, value, issued_at=stored.issued_at)


def focus_seen_write(response: HttpResponseBase, browser: Browser, *, item_id: int) -> None:
    """Remember that a focus item was shown, so it keeps to its frequency. Functional and
    switchable (FOCUS_FREQUENCY_COOKIE); one cookie per item, holding a time, never an
    identifier, so that two items shown at once cannot overwrite each other."""
    if not settings.FOCUS_FREQUENCY_COOKIE:
        return
    now = int(time.time())
    key = str(item_id)
    issued_at = browser.focus.issued.get(key, now) if browser.focus else now
    value = signing.dumps({"t": now, "i": issued_at}, salt=f"{registry.FOCUS.salt}.{key}")
    _write(response, registry.FOCUS, value, issued_at=issued_at, name=registry.FOCUS.named(key))
