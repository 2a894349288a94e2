"""Strict readers for settings that come from the environment.

Every reader raises ImproperlyConfigured naming the variable when a value does not parse, so a
typo stops start-up instead of silently becoming a default.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


_DEFAULT_PORTS = {"http": 80, "https": 443}
# A host name, an IPv4 address, or an IPv6 address (its brackets already taken off).
_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?|[0-9a-f:.]*:[0-9a-f:.]*")


def origin_normalise(value: str) -> str:
    """An origin as a browser sends it in its Origin header: scheme://host[:port], lower case,
    without the scheme's default port. Raises ValueError saying what is wrong."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} is not an origin like https://example.com") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        raise ValueError(f"{value!r} is not an origin like https://example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{value!r} must be an origin, without a path")
    host = parts.hostname.lower()
    if not _HOST.fullmatch(host):
        # Browsers send a host name in ASCII (an international one as punycode).
        raise ValueError(f"{value!r} is not an origin like https://example.com")
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


class Env:
    """Reads typed values from a mapping (os.environ by default)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def _raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            file_name = self.environ.get(f"{name}_FILE")
            if file_name:
                try:
                    return Path(file_name).read_text().strip()
                except OSError as exc:
                    raise ImproperlyConfigured(
                        f"{name}_FILE: cannot read {file_name}: {exc}"
                    ) from exc
            return None
        return value.strip()

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self._raw(name)
        return default if value is None else value

    def flag(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true or false")

    def number(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None
        if not minimum <= number <= maximum:
            raise ImproperlyConfigured(f"{name}={number} is outside {minimum}..{maximum}")
        return number

    def choice(self, name: str, default: str, choices: Sequence[str]) -> str:
        value = self._raw(name)
        if value is None:
            return default
        if value.lower() not in choices:
            raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}")
        return value.lower()

    def csv(self, name: str, default: Sequence[str] = ()) -> list[str]:
        value = self._raw(name)
        if value is None:
            return list(default)
        return [item.strip() for item in value.split(",") if item.strip()]

    def networks(self, name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        networks = []
        for item in self.csv(name):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ImproperlyConfigured(f"{name}: {item!r} is not an IP network") from None
        return networks

    def origins(self, name: str) -> list[str]:
        origins = []
        for item in self.csv(name):
            try:
                origins.append(origin_normalise(item))
            except ValueError as exc:
                raise ImproperlyConfigured(f"{name}: {exc}") from None
        return origins

    def url(self, name: str) -> str:
        """A web address a visitor may be sent to (http or https, with a host); "" if unset."""
        value = self._raw(name)
        if value is None:
            return ""
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or not value.isprintable()
            or " " in value
        ):
            raise ImproperlyConfigured(
                f"{name}={value!r} is not a web address like https://example.com/privacy"
            )
        return value

    def email(self, name: str) -> str:
        """An email address; "" if unset."""
        value = self._raw(name)
        if value is None:
            return ""
        try:
            validate_email(value)
        except ValidationError:
            raise ImproperlyConfigured(f"{name}={value!r} is not an email address") from None
        return value
