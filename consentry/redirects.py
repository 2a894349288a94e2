"""Every URL the product sends a browser to, read the way the browser will read it.

A redirect check that reads a URL differently from the browser is an open redirect: Python's
`urlsplit("http://evil.example\\@shop.example/")` sees the host `shop.example`, a browser sees
`evil.example`. So the one function here follows the WHATWG URL Standard (what browsers
implement) for every step that decides where a browser lands: controls and spaces trimmed, tabs
and newlines removed anywhere, `\\` read as `/`, slashes after the scheme skipped, the host
IDNA-encoded, IPv4 and IPv6 hosts canonicalised. Whatever it cannot read exactly as a browser
does (user-info, percent-escapes or odd IPv4 spellings in the host, trailing dots) it refuses
rather than guesses. Callers hand the browser the URL it returns, never the stored text.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Final

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_AMBIGUOUS = re.compile(r"[\\\t\n\r]")
# C0 controls and space, trimmed from both ends as the browser does.
_TRIMMED = "".join(chr(c) for c in range(0x21))
# A host label after IDNA: what a browser accepts that cannot surprise anyone.
_LABEL = re.compile(r"[a-z0-9_\-]+")
_CANONICAL_IPV4_PART = re.compile(r"0|[1-9][0-9]{0,2}")
# UTS 46 (browsers) keeps these; IDNA 2003 (Python's codec) maps them away: a host holding
# one would be read differently, so it is refused.
_IDNA_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")
# The WHATWG percent-encode sets: what the browser escapes in each part of a URL.
_FRAGMENT_SET: Final = frozenset(' "<>`')
_QUERY_SET: Final = frozenset(" \"#<>'")  # the special-query set: http(s) only
# Chromium also escapes | in a path (the standard does not): following it keeps what this
# module returns identical to what Chromium navigates to.
_PATH_SET: Final = frozenset(' "#<>?`{}^|')
_SINGLE_DOT = frozenset({".", "%2e"})
_DOUBLE_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})


@dataclass(frozen=True, slots=True)
class BrowserUrl:
    """An http(s) URL as a browser serialises it: `origin` is where it lands."""

    href: str
    origin: str


class _AnyOrigin:
    def __contains__(self, origin: object) -> bool:
        return True


# For links that lead off-site on purpose (an email's links): read, but any origin will do.
ANY_ORIGIN: Final[Container[str]] = _AnyOrigin()


def url_read(raw: str) -> BrowserUrl | None:
    """`raw` read as a browser reads an absolute URL, or None when it is not an http(s) URL
    this module can read exactly as every browser does."""
    url = _TAB_OR_NEWLINE.sub("", raw.strip(_TRIMMED))
    if not url or any("\ud800" <= c <= "\udfff" for c in url):
        return None
    match = _SCHEME.match(url)
    if match is None:  # relative, scheme-relative (//evil) or not a URL: the page would decide
        return None
    scheme = match.group()[:-1].lower()
    if scheme not in _DEFAULT_PORTS:  # javascript:, data:, ftp:, ...
        return None
    # With no base, a browser skips any run of slashes and backslashes after the scheme
    # (http:evil, http:/evil, http:\\evil all name the host evil).
    rest = url[match.end() :].lstrip("/\\")
    end = len(rest)
    for stop in "/\\?#":
        at = rest.find(stop)
        if at != -1:
            end = min(end, at)
    authority, rest = rest[:end], rest[end:]
    if "@" in authority:  # user-info: shown to people as if it were the host
        return None
    host_text, port_text = _split_port(authority)
    host = _host_read(host_text)
    port = _port_read(port_text, scheme=scheme)
    if host is None or port is None:
        return None
    origin = f"{scheme}://{host}" + (f":{port}" if port != _DEFAULT_PORTS[scheme] else "")
    fragment = None
    if "#" in rest:
        rest, fragment = rest.split("#", 1)
    query = None
    if "?" in rest:
        rest, query = rest.split("?", 1)
    href = origin + _path_read(rest)
    if query is not None:
        href += "?" + _escape(query, _QUERY_SET)
    if fragment is not None:
        href += "#" + _escape(fragment, _FRAGMENT_SET)
    return BrowserUrl(href=href, origin=origin)


def browser_url_validate(value: str) -> None:
    """A model field validator: refuses a link that a browser would not read as the plain
    http(s) address it looks like (so a visitor is never sent where the operator did not
    mean)."""
    from django.core.exceptions import ValidationError

    # A backslash, tab or line break reads one way to Python and people and another to a
    # browser: a saved link must not hold one at all.
    if value and (url_read(value) is None or _AMBIGUOUS.search(value)):
        raise ValidationError(
            "Enter a plain http(s) address: no backslash, tab or line break, no user name or "
            "password, no percent sign or trailing dot in the host name, and an IPv4 address "
            "only as four plain numbers.",
            code="browser_url",
        )


def origins_read(origins: Iterable[str]) -> frozenset[str]:
    """Origins as configured (`https://Shop.example:443`), as `url_read` serialises them."""
    read = (url_read(origin) for origin in origins)
    return frozenset(url.origin for url in read if url is not None)


def redirect_target(raw: str, *, allowed: Container[str]) -> str | None:
    """The URL a browser should be sent to for the stored `raw`, normalised exactly as the
    browser would navigate, when its origin (as `url_read` serialises it) is in `allowed`;
    else None. Hand the browser this string, never `raw`."""
    url = url_read(raw)
    if url is None or url.origin not in allowed:
        return None
    return url.href


def _split_port(authority: str) -> tuple[str, str | None]:
    """The host and the port text (None without a colon); a colon inside [...] is IPv6."""
    inside = False
    for at, char in enumerate(authority):
        if char == "[":
            inside = True
        elif char == "]":
            inside = False
        elif char == ":" and not inside:
            return authority[:at], authority[at + 1 :]
    return authority, None


def _port_read(text: str | None, *, scheme: str) -> int | None:
    if not text:  # none, or "host:" (which browsers read as the default port)
        return _DEFAULT_PORTS[scheme]
    if not text.isascii() or not text.isdigit() or int(text) > 65535:
        return None
    return int(text)


def _host_read(text: str) -> str | None:
    if text.startswith("["):
        return _ipv6_read(text[1:-1]) if text.endswith("]") else None
    # Browsers decode percent-escapes in a host (evil%2eexample is evil.example) and end a
    # host at a trailing dot that names the same server as another origin: refused, not read.
    if not text or "%" in text or text.endswith((".", "\u3002", "\uff0e", "\uff61")):
        return None
    host = _idna(text)
    if host is None:
        return None
    labels = host.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if _ends_in_a_number(labels[-1]):
        # Browsers read 0x7f.1, 2130706433 and 0177.0.0.1 as 127.0.0.1: only the one
        # spelling that means what it shows is accepted.
        canonical = len(labels) == 4 and all(
            _CANONICAL_IPV4_PART.fullmatch(part) and int(part) <= 255 for part in labels
        )
        return host if canonical else None
    return host


def _idna(text: str) -> str | None:
    """The host as ASCII: Python's IDNA codec where it agrees with the browsers' UTS 46."""
    if text.isascii():
        host = text.lower()
    elif _IDNA_DEVIATIONS.intersection(text.lower()):
        return None
    else:
        try:
            host = text.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return None
    for label in host.split("."):
        # A browser decodes an xn-- label and refuses a host whose label does not round-trip.
        if label.startswith("xn--"):
            try:
                decoded = label.encode("ascii").decode("idna")
                if decoded.isascii() or decoded.encode("idna").decode("ascii") != label:
                    return None
            except UnicodeError:
                return None
    return host


def _ends_in_a_number(label: str) -> bool:
    if label.isdigit():
        return True
    if label.startswith("0x"):
        return all(c in "0123456789abcdef" for c in label[2:])
    return False


def _ipv6_read(text: str) -> str | None:
    if "%" in text:  # a zone id (fe80::1%eth0): Python reads it, browsers refuse it
        return None
    try:
        packed = ipaddress.IPv6Address(text).packed
    except ValueError:
        return None
    pieces = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, 16, 2)]
    # The first longest run of two or more zero pieces is written "::".
    best_start, best_length, start = -1, 1, -1
    for at, piece in enumerate([*pieces, 1]):
        if piece == 0 and start == -1:
            start = at
        elif piece != 0 and start != -1:
            if at - start > best_length:
                best_start, best_length = start, at - start
            start = -1
    if best_start == -1:
        return "[" + ":".join(f"{p:x}" for p in pieces) + "]"
    head = ":".join(f"{p:x}" for p in pieces[:best_start])
    tail = ":".join(f"{p:x}" for p in pieces[best_start + best_length :])
    return f"[{head}::{tail}]"


def _path_read(text: str) -> str:
    """The path as a browser serialises it: \\ as /, dot segments resolved, escaped."""
    if text.startswith(("/", "\\")):
        text = text[1:]
    segments = re.split(r"[/\\]", text)
    path: list[str] = []
    for at, segment in enumerate(segments):
        last = at == len(segments) - 1
        lowered = segment.lower()
        if lowered in _DOUBLE_DOT:
            if path:
                path.pop()
            if last:
                path.append("")
        elif lowered in _SINGLE_DOT:
            if last:
                path.append("")
        else:
            path.append(_escape(segment, _PATH_SET))
    return "".join("/" + segment for segment in path)


def _escape(text: str, escaped: frozenset[str]) -> str:
    """Percent-encodes what the browser would, as UTF-8; escapes already there are kept."""
    out = []
    for char in text:
        if char in escaped or not " " < char < "\x7f":
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
        else:
            out.append(char)
    return "".join(out)
