"""Who fetched an email's pixel: a person, or a machine on the reader's behalf.

Mail privacy proxies are recognised by the address they fetch from (Apple's and Google's
published ranges, shipped as snapshots in emails/data/ and refreshed by
`manage.py machine_ranges_refresh`), and scanners by their user agent. The address is read
unmasked, in memory only: what leaves the request is the source of the flag, never the address.
"""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
import json
import os
import re
import tempfile
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest

from consent.ip import IPAddress, client_ip
from emails.models import MachineSource
from tracker.minimise import agent_parse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DATA_DIR = Path(__file__).resolve().parent / "data"
APPLE_FILE = "apple-egress-ip-ranges.csv"
GOOGLE_FILE = "google-image-proxy-ranges.json"

# Mail privacy proxies and link scanners fetch on the reader's behalf: machine, not human.
_PROXIES = re.compile(
    r"GoogleImageProxy|YahooMailProxy|Barracuda|Proofpoint|Mimecast|Symantec|Forcepoint|"
    r"Trend ?Micro|MessageLabs|SafeLinks|Microsoft Office Protocol Discovery|ms-office",
    re.IGNORECASE,
)


def ranges_read_apple(text: str) -> list[Network]:
    """The prefixes of a file in the format of Apple's egress-ip-ranges.csv
    (prefix,country,region,city,); lines starting with # are comments."""
    networks = []
    lines = (line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    for number, row in enumerate(csv.reader(lines), start=1):
        try:
            networks.append(ipaddress.ip_network(row[0].strip(), strict=False))
        except (IndexError, ValueError):
            raise ValueError(f"row {number}: {','.join(row)[:80]!r} is not a prefix") from None
    return networks


def ranges_read_google(text: str) -> list[Network]:
    """The prefixes of a file in the format of Google's IP range files
    ({"prefixes": [{"ipv4Prefix": ...} | {"ipv6Prefix": ...}]})."""
    try:
        prefixes = json.loads(text)["prefixes"]
        values = [p.get("ipv4Prefix") or p["ipv6Prefix"] for p in prefixes]
        return [ipaddress.ip_network(str(value), strict=False) for value in values]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a Google IP range file: {exc}") from None


@dataclass(frozen=True, slots=True)
class _Ranges:
    """Merged, sorted [start, end] integer ranges of one family: a lookup is one bisect."""

    starts: list[int]
    ends: list[int]

    @classmethod
    def of(cls, networks: Iterable[Network]) -> _Ranges:
        spans = sorted((int(n.network_address), int(n.broadcast_address)) for n in networks)
        starts: list[int] = []
        ends: list[int] = []
        for start, end in spans:
            if ends and start <= ends[-1] + 1:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        return cls(starts=starts, ends=ends)

    def __contains__(self, number: int) -> bool:
        index = bisect_right(self.starts, number) - 1
        return index >= 0 and number <= self.ends[index]


@dataclass(frozen=True, slots=True)
class _Table:
    v4: _Ranges
    v6: _Ranges

    @classmethod
    def of(cls, networks: list[Network]) -> _Table:
        return cls(
            v4=_Ranges.of(n for n in networks if n.version == 4),
            v6=_Ranges.of(n for n in networks if n.version == 6),
        )

    def __contains__(self, address: IPAddress) -> bool:
        return int(address) in (self.v4 if address.version == 4 else self.v6)


def ranges_dir() -> Path:
    # Optional, for a deployment whose code directory is read-only; the shipped snapshots
    # are used when it is not set.
    return Path(getattr(settings, "EMAIL_MACHINE_RANGES_DIR", "") or DATA_DIR)


@cache
def _tables() -> tuple[tuple[str, _Table], ...]:
    """Read once per process: the open pixel is a hot path."""
    directory = ranges_dir()
    apple = ranges_read_apple((directory / APPLE_FILE).read_text(encoding="utf-8"))
    google = ranges_read_google((directory / GOOGLE_FILE).read_text(encoding="utf-8"))
    return (
        (MachineSource.APPLE_RELAY.value, _Table.of(apple)),
        (MachineSource.GOOGLE_PROXY.value, _Table.of(google)),
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


def machine_source(request: HttpRequest, *, by_address: bool) -> str:
    """Why this request is a machine's ("" for a person). By address only where a proxy
    fetches for the reader (an open): a person browsing through iCloud Private Relay clicks
    from the same addresses."""
    if by_address:
        # Before masking, in memory only: masking would blur a /24 into its neighbours.
        source = address_source(client_ip(request))
        if source:
            return source
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    # Apple Mail Privacy Protection fetched with this bare agent before it used its ranges.
    if (
        user_agent.strip() in ("", "Mozilla/5.0")
        or _PROXIES.search(user_agent)
        or agent_parse(user_agent[:1024]).machine
    ):
        return MachineSource.AGENT.value
    if "prefetch" in request.META.get("HTTP_SEC_PURPOSE", "").lower():
        return MachineSource.PREFETCH.value
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


def _collapsed(networks: list[Network]) -> list[Network]:
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    return [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]


def ranges_snapshot_apple(*, networks: list[Network], origin: str, directory: Path) -> Path:
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
    rows = "".join(f"{network},,,,\n" for network in _collapsed(networks))
    path = directory / APPLE_FILE
    _write(path, header + rows)
    return path


def ranges_snapshot_google(*, networks: list[Network], origin: str, directory: Path) -> Path:
    """Write Google's ranges as the snapshot, in Google's own format."""
    now = dt.datetime.now(dt.UTC)
    document = {
        "creationTime": now.strftime("%Y-%m-%dT%H:%M:%S.000000"),
        "note": (
            f"Snapshot of {now.date().isoformat()}, from {origin} (Google's published IP "
            "range file), adjacent prefixes collapsed. Replace it with "
            "python manage.py machine_ranges_refresh --google FILE"
        ),
        "prefixes": [
            {f"ipv{network.version}Prefix": str(network)} for network in _collapsed(networks)
        ],
    }
    path = directory / GOOGLE_FILE
    _write(path, json.dumps(document, indent=1) + "\n")
    return path
