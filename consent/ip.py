"""The client's address: believed from X-Forwarded-For only through trusted proxies, and
masked before anything is stored."""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_UNKNOWN = ipaddress.IPv4Address("0.0.0.0")  # noqa: S104 - a value, not a bind address


def _parse(value: str) -> IPAddress | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        # The common case first: C's strict dotted-quad parser (no leading zeros, no short
        # forms, as strict as ipaddress) is many times faster on every hit.
        return ipaddress.IPv4Address(socket.inet_pton(socket.AF_INET, value))
    except (OSError, ValueError):
        pass
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress) -> bool:
    return any(address in network for network in settings.TRUSTED_PROXIES)


def client_ip(request: HttpRequest) -> IPAddress:
    """The peer address, or, when the peer is a trusted proxy, the rightmost untrusted hop."""
    peer = _parse(request.META.get("REMOTE_ADDR", "")) or _UNKNOWN
    if not settings.TRUSTED_PROXIES or not _trusted(peer):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    client = peer
    for hop in reversed(forwarded.split(",")):
        address = _parse(hop)
        if address is None:
            break
        client = address
        if not _trusted(address):
            break
    return client


def mask_ip(address: IPAddress) -> str:
    """Zero the trailing bytes (IPv4) or bits (IPv6) configured, e.g. 192.0.2.77 -> 192.0.0.0."""
    if isinstance(address, ipaddress.IPv4Address):
        drop = 8 * settings.IP_MASK_V4_BYTES
    else:
        drop = settings.IP_MASK_V6_BITS
    return str(type(address)(int(address) >> drop << drop))


def masked_client_ip(request: HttpRequest) -> str:
    return mask_ip(client_ip(request))
