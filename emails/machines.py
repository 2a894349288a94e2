"""The mail privacy proxies' published address ranges (Apple's and Google's), shipped as
snapshots in emails/data/ and refreshed by `manage.py machine_ranges_refresh`: an open fetched
from one of them is a machine's (tracker.machines asks `address_source`). The address is read
unmasked, in memory only: what leaves the request is the source of the flag, never the address.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import os
import socket
import tempfile
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

from django.conf import settings

from consent.ip import IPAddress
from emails.models import MachineSource

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
logger = logging.getLogger("emails.machines")

DATA_DIR = Path(__file__).resolve().parent / "data"
APPLE_FILE = "apple-egress-ip-ranges.csv"
GOOGLE_FILE = "google-image-proxy-ranges.json"


class Span(NamedTuple):
    """One prefix as integers: its family's width in bits (32 or 128), first and last address."""

    bits: int
    start: int
    end: int


def _span(prefix: str) -> Span:
    # socket's C parser, not ipaddress: Apple's list has hundreds of thousands of lines.
    address, _, length = prefix.strip().partition("/")
    family, bits = (socket.AF_INET6, 128) if ":" in address else (socket.AF_INET, 32)
    try:
        number = int.from_bytes(socket.inet_pton(family, address), "big")
    except OSError:
        raise ValueError(f"{prefix!r} is not a prefix") from None
    if not (length.isdigit() and int(length) <= bits):
        raise ValueError(f"{prefix!r} is not a prefix")
    host = bits - int(length)
    start = number >> host << host
    return Span(bits, start, start | ((1 << host) - 1))


def ranges_read_apple(text: str) -> list[Span]:
    """The prefixes of a file in the format of Apple's egress-ip-ranges.csv
    (prefix,country,region,city,); lines starting with # are comments."""
    spans = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            try:
                spans.append(_span(line.split(",", 1)[0]))
            except ValueError:
                raise ValueError(f"line {number}: {line[:80]!r} is not a prefix") from None
    return spans


def ranges_read_google(text: str) -> list[Span]:
    """The prefixes of a file in the format of Google's IP range files
    ({"prefixes": [{"ipv4Prefix": ...} | {"ipv6Prefix": ...}]})."""
    try:
        prefixes = json.loads(text)["prefixes"]
        return [_span(str(p.get("ipv4Prefix") or p["ipv6Prefix"])) for p in prefixes]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a Google IP range file: {exc}") from None


def _merged(spans: Iterable[Span]) -> list[Span]:
    """Sorted, with overlapping and adjacent spans of a family joined."""
    merged: list[Span] = []
    for span in sorted(spans):
        last = merged[-1] if merged else None
        if last and last.bits == span.bits and span.start <= last.end + 1:
            merged[-1] = last._replace(end=max(last.end, span.end))
        else:
            merged.append(span)
    return merged


@dataclass(frozen=True, slots=True)
class _Ranges:
    """Sorted, disjoint [start, end] ranges of one family: a lookup is one bisect."""

    starts: list[int]
    ends: list[int]

    def __contains__(self, number: int) -> bool:
        index = bisect_right(self.starts, number) - 1
        return index >= 0 and number <= self.ends[index]


@dataclass(frozen=True, slots=True)
class _Table:
    v4: _Ranges
    v6: _Ranges

    @classmethod
    def of(cls, spans: list[Span]) -> _Table:
        merged = _merged(spans)
        v4 = [s for s in merged if s.bits == 32]
        v6 = [s for s in merged if s.bits == 128]
        return cls(
            v4=_Ranges([s.start for s in v4], [s.end for s in v4]),
            v6=_Ranges([s.start for s in v6], [s.end for s in v6]),
        )

    def __contains__(self, address: IPAddress) -> bool:
        return int(address) in (self.v4 if address.version == 4 else self.v6)


def ranges_dir() -> Path:
    # Optional, for a deployment whose code directory is read-only; the shipped snapshots
    # are used when it is not set.
    return Path(settings.EMAIL_MACHINE_RANGES_DIR or DATA_DIR)


def _table(name: str, read: Callable[[str], list[Span]]) -> _Table:
    path = ranges_dir() / name
    try:
        return _Table.of(read(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        # An open is still recorded (and scanners still known by their agent): a broken
        # snapshot must not turn every open pixel into an error.
        logger.error("machine ranges unreadable, %s ignored: %s", path, exc)
        return _Table.of([])


@cache
def _tables() -> tuple[tuple[str, _Table], ...]:
    """Read once per process: the open pixel is a hot path."""
    return (
        (MachineSource.APPLE_RELAY.value, _table(APPLE_FILE, ranges_read_apple)),
        (MachineSource.GOOGLE_PROXY.value, _table(GOOGLE_FILE, ranges_read_google)),
    )


def ranges_reload() -> None:
    """Forget the ranges read so far; the next lookup reads the files again."""
    _tables.cache_clear()


def address_source(address: IPAddress) -> str:
    """The proxy whose published ranges hold this address, or ""."""
    for source, table in _tables():
        if address in table:
            return source
    return ""


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a worker starting mid-write never reads half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _prefixes(spans: list[Span]) -> list[Network]:
    """The fewest CIDR prefixes that cover the spans exactly."""
    prefixes: list[Network] = []
    for span in _merged(spans):
        kind = ipaddress.IPv4Address if span.bits == 32 else ipaddress.IPv6Address
        prefixes.extend(ipaddress.summarize_address_range(kind(span.start), kind(span.end)))
    return prefixes


def ranges_snapshot_apple(*, spans: list[Span], origin: str, directory: Path) -> Path:
    """Write Apple's ranges as the snapshot, in Apple's own format, collapsed (its file lists
    many adjacent prefixes per city; only the prefix is used)."""
    today = dt.datetime.now(dt.UTC).date().isoformat()
    header = (
        "# Where Apple Mail Privacy Protection and iCloud Private Relay fetch from: an email\n"
        "# open from these addresses is Apple's proxy, not a person reading.\n"
        f"# Snapshot of {today}, from {origin} (Apple's egress-ip-ranges.csv), adjacent\n"
        "# prefixes collapsed and location columns left empty. Replace it with\n"
        "#   python manage.py machine_ranges_refresh --apple FILE\n"
    )
    rows = "".join(f"{prefix},,,,\n" for prefix in _prefixes(spans))
    path = directory / APPLE_FILE
    _write(path, header + rows)
    return path


def ranges_snapshot_google(*, spans: list[Span], origin: str, directory: Path) -> Path:
    """Write Google's ranges as the snapshot, in Google's own format."""
    now = dt.datetime.now(dt.UTC)
    document = {
        "creationTime": now.strftime("%Y-%m-%dT%H:%M:%S.000000"),
        "note": (
            f"Snapshot of {now.date().isoformat()}, from {origin} (Google's published IP "
            "range file), adjacent prefixes collapsed. Replace it with "
            "python manage.py machine_ranges_refresh --google FILE"
        ),
        "prefixes": [{f"ipv{prefix.version}Prefix": str(prefix)} for prefix in _prefixes(spans)],
    }
    path = directory / GOOGLE_FILE
    _write(path, json.dumps(document, indent=1) + "\n")
    return path
