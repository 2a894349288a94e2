"""The only code that opens connections to URLs users give: outgoing webhooks.

A receiver's URL is a user's word, so every send is checked against server-side request
forgery: the name is resolved once, every address it resolves to must be one the server may
reach (`address_refusal`), and the connection goes to the checked address itself, with the
name kept for the Host header, SNI and the certificate check. Resolving again to connect
would let a name answer a public address to the check and a private one to the connection
(DNS rebinding).

Address policy: loopback, private, link-local, shared (CGNAT), multicast, reserved,
documentation, benchmarking and every other address that is not globally reachable are
refused, also when wrapped in an IPv6 form (IPv4-mapped, IPv4-compatible, 6to4, NAT64;
Teredo is refused outright). WEBHOOK_ALLOWED_NETWORKS opens the networks the operator names,
for receivers on their own network. Cloud metadata addresses are refused whatever it says,
even when an allowed network names them: a receiver never needs them, and a broad allowance
(10.0.0.0/8, 100.64.0.0/10) must not open them by accident.

Nothing here logs: a request body carries personal data, and a refusal or failure is
returned to the caller as a readable reason.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.response import HTTPResponse
from urllib3.util.ssl_match_hostname import CertificateError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_PORTS = {"http": 80, "https": 443}

# Instance metadata services hand out credentials to whoever asks from inside the cloud.
METADATA_ADDRESSES: dict[IPAddress, str] = {
    ipaddress.ip_address("169.254.169.254"): "AWS, GCP, Azure, OpenStack and others",
    ipaddress.ip_address("169.254.170.2"): "AWS ECS task credentials",
    ipaddress.ip_address("fd00:ec2::254"): "AWS, over IPv6",
    ipaddress.ip_address("100.100.100.200"): "Alibaba Cloud",
    ipaddress.ip_address("169.254.170.23"): "AWS EKS Pod Identity",
    ipaddress.ip_address("fd00:ec2::23"): "AWS EKS Pod Identity, over IPv6",
    ipaddress.ip_address("169.254.0.23"): "Tencent Cloud",
    # A public address that only answers from inside Azure: its host agent (WireServer).
    ipaddress.ip_address("168.63.129.16"): "Azure WireServer",
}

# Named first so that a refusal says what the address is; the `ipaddress` predicates after
# them catch the rest. Python 3.11 calls some of these global (6to4 relays, site-local,
# multicast ff02::), hence the explicit list.
_NAMED_RANGES: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(cidr), description)
    for cidr, description in (
        ("0.0.0.0/8", "a 'this network' address (0.0.0.0/8)"),
        ("10.0.0.0/8", "a private address (10.0.0.0/8)"),
        ("100.64.0.0/10", "a shared carrier-grade NAT address (100.64.0.0/10)"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address (172.16.0.0/12)"),
        ("192.0.0.0/24", "an IETF protocol address (192.0.0.0/24)"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a deprecated 6to4 relay address"),
        ("192.168.0.0/16", "a private address (192.168.0.0/16)"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::1/128", "a loopback address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/23", "an IETF protocol address (2001::/23)"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("fc00::/7", "a private (unique local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a deprecated site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# Labels of letters, digits, hyphens (not at either end) and underscores, 63 at most each.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_NAME = re.compile(rf"(?=.{{1,253}}\.?$)(?:{_LABEL}\.)*{_LABEL}\.?")


class Refused(ValueError):
    """The URL may not be sent to; raised before any connection is opened."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SendFailed(Exception):
    """The send was allowed but did not get an answer: resolution, connection, TLS, timeout."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Endpoint:
    """What a URL names, read without resolving it."""

    scheme: str
    host: str  # lower case; an IPv6 literal without its brackets
    port: int
    path: str  # the request target: path and query, never empty

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class Target:
    """A checked endpoint and the one address the send connects to."""

    endpoint: Endpoint
    address: IPAddress


@dataclass(frozen=True)
class Reply:
    status: int
    head: bytes  # the first bytes of the response body, as many as the caller asked at most
    seconds: float  # from opening the connection to the end of `head`
    address: str  # the address connected to


def url_parse(url: str) -> Endpoint:
    """Read a URL as an endpoint, without resolving its name; raise Refused when it cannot
    be one."""
    if any(char <= " " or char == "\x7f" for char in url):
        raise Refused("the URL contains a space or a control character")
    if not url.isascii():
        raise Refused(
            "the URL contains characters outside ASCII: percent-encode them, and write an "
            "internationalised name in its xn-- form"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"the URL cannot be read: {exc}") from None
    if parts.scheme not in DEFAULT_PORTS:
        scheme = parts.scheme or "none"
        raise Refused(f"only http and https URLs are accepted, not {scheme}")
    if "@" in parts.netloc:
        raise Refused(
            "the URL carries a user name or password (user:pass@); send credentials in a "
            "header instead"
        )
    host = parts.hostname
    if not host:
        raise Refused("the URL names no host")
    if port == 0:
        raise Refused("port 0 cannot be connected to")
    if "%" in host:
        raise Refused("an IPv6 address with a zone (%…) is not accepted")
    if not _is_ip_literal(host):
        if not _NAME.fullmatch(host):
            raise Refused(f"{host} is not a host name")
        if host.rstrip(".").rsplit(".", 1)[-1].isdigit():
            # 2130706433 or 127.1 would reach an address through the resolver's leniency.
            raise Refused(f"{host} is neither a host name nor an IP address in the usual form")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Endpoint(
        scheme=parts.scheme, host=host, port=port or DEFAULT_PORTS[parts.scheme], path=path
    )


def url_syntax_problem(url: str) -> str | None:
    """Why the URL cannot be a receiver's, read without resolving it; None when it can."""
    try:
        url_parse(url)
    except Refused as exc:
        return exc.reason
    return None


def address_refusal(*, ip: IPAddress, allowed: Sequence[Network]) -> str | None:
    """Why the server may not connect to `ip`, as what the address is ("a loopback
    address"); None when it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # The same host as the IPv4 address it maps, and judged as that address.
        inner = address_refusal(ip=ip.ipv4_mapped, allowed=allowed)
        return None if inner is None else f"the IPv4-mapped form of {ip.ipv4_mapped}, {inner}"
    embedded = _embedded_ipv4(ip)
    if ip in METADATA_ADDRESSES:
        return f"a cloud metadata address ({METADATA_ADDRESSES[ip]})"
    if embedded is not None and embedded[1] in METADATA_ADDRESSES:
        inner_ip = embedded[1]
        return (
            f"a {embedded[0]} address for {inner_ip}, a cloud metadata address "
            f"({METADATA_ADDRESSES[inner_ip]})"
        )
    if any(ip in network for network in allowed):
        return None
    if embedded is not None:
        kind, inner_ip = embedded
        if kind == "Teredo":
            return "a Teredo tunnel address, whose destination cannot be checked"
        if kind == "IPv4-compatible":
            return f"a deprecated IPv4-compatible address (for {inner_ip})"
        inner = address_refusal(ip=inner_ip, allowed=allowed)
        return None if inner is None else f"a {kind} address for {inner_ip}, {inner}"
    if ip.is_unspecified:
        return "the unspecified address"
    for network, description in _NAMED_RANGES:
        if ip in network:
            return description
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "not a globally reachable address"
    return None


def addresses_of(*, host: str, port: int) -> list[IPAddress]:
    """The addresses a host name resolves to, in the resolver's order of preference (an IP
    literal is its own address). Raises SendFailed when the name does not resolve."""
    if _is_ip_literal(host):
        return [ipaddress.ip_address(host)]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise SendFailed(f"could not resolve {host}: {_why(exc)}") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # A scoped IPv6 answer (fe80::1%eth0) is refused anyway; its scope is dropped here.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def url_check(*, url: str, allowed: Sequence[Network]) -> Target:
    """Resolve the URL's host once and check every address; raise Refused if any of them may
    not be reached (a name answering both a public and a private address is an attack), or
    SendFailed if the name does not resolve."""
    endpoint = url_parse(url)
    addresses = addresses_of(host=endpoint.host, port=endpoint.port)
    if not addresses:
        raise SendFailed(f"{endpoint.host} has no address")
    for ip in addresses:
        reason = address_refusal(ip=ip, allowed=allowed)
        if reason is None:
            continue
        if _is_ip_literal(endpoint.host):
            raise Refused(f"{_shown(ip)} is {reason}")
        raise Refused(f"{endpoint.host} resolves to {_shown(ip)}, {reason}")
    return Target(endpoint=endpoint, address=addresses[0])


def post(
    *,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    allowed: Sequence[Network],
    connect_timeout: float = 3.0,
    read_timeout: float = 10.0,
    max_response_bytes: int = 4096,
) -> Reply:
    """POST `body` to `url`, or raise Refused (before any connection) or SendFailed.

    Redirects are answers, not followed. The whole send ends within about
    connect_timeout + read_timeout however slowly the receiver answers; once the status and
    headers have come, the status stands, and a body that stalls or breaks off is kept as
    far as it came.
    """
    target = url_check(url=url, allowed=allowed)
    endpoint = target.endpoint
    ip = str(target.address)
    where = f"[{ip}]:{endpoint.port}" if ":" in ip else f"{ip}:{endpoint.port}"
    conn: HTTPConnection
    if endpoint.scheme == "https":
        # The socket goes to the checked address; SNI and the certificate use the name
        # (certificates name hosts without the root's trailing dot).
        name = endpoint.host.rstrip(".")
        conn = HTTPSConnection(
            ip,
            endpoint.port,
            timeout=connect_timeout,
            server_hostname=name,
            assert_hostname=name,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        conn = HTTPConnection(ip, endpoint.port, timeout=connect_timeout)
    request_headers = {name: value for name, value in headers.items() if name.lower() != "host"}
    request_headers["Host"] = endpoint.host_header

    started = time.monotonic()
    total = connect_timeout + read_timeout
    deadline = _Deadline(conn=conn, seconds=total)
    phase = "connecting to"
    try:
        conn.connect()
        deadline.hold(conn.sock)
        # Applied to the socket by request() and getresponse(): each read waits this long.
        conn.timeout = read_timeout
        phase = "sending the request to"
        conn.request(
            "POST",
            endpoint.path,
            body=body,
            headers=request_headers,
            preload_content=False,
            decode_content=False,
        )
        phase = "waiting for the response from"
        response = conn.getresponse()
        if deadline.expired:
            # Cut while the headers were coming: what was read is not the receiver's answer.
            raise SendFailed(f"gave up after {total:g} s {phase} {where}")
        head = _head_read(response, limit=max_response_bytes, deadline=started + total)
    except SendFailed:
        raise
    except Exception as exc:
        if deadline.expired:
            raise SendFailed(f"gave up after {total:g} s {phase} {where}") from None
        timeout = connect_timeout if phase == "connecting to" else read_timeout
        raise SendFailed(
            _failure(exc, phase=phase, where=where, host=endpoint.host, timeout=timeout)
        ) from None
    finally:
        deadline.cancel()
        # Never reused: the rest of a long body is dropped with the connection.
        conn.close()
    return Reply(status=response.status, head=head, seconds=time.monotonic() - started, address=ip)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _shown(ip: IPAddress) -> str:
    """The address as an operator writes it: ::ffff:127.0.0.1, not ::ffff:7f00:1."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


def _embedded_ipv4(ip: IPAddress) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 transition form carries, named by the form."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.teredo is not None:
        return "Teredo", ip.teredo[1]
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # not :: or ::1
        return "IPv4-compatible", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _failure(exc: Exception, *, phase: str, where: str, host: str, timeout: float) -> str:
    """A network failure as one short sentence for the operator."""
    cause = exc.__cause__ if isinstance(exc, NewConnectionError) and exc.__cause__ else exc
    if isinstance(cause, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(exc, ConnectTimeoutError) and not isinstance(exc, NewConnectionError):
        return f"timed out after {timeout:g} s connecting to {where}"
    if isinstance(exc, TimeoutError | ReadTimeoutError | socket.timeout):
        return f"timed out after {timeout:g} s {phase} {where}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the certificate of {host} could not be verified: {exc.verify_message}"
    if isinstance(exc, CertificateError):
        return f"the certificate at {where} is not valid for {host}: {exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {where} failed: {exc.reason or exc}"
    if isinstance(exc, http.client.RemoteDisconnected):
        return f"{where} closed the connection without answering"
    if isinstance(exc, http.client.HTTPException | ProtocolError):
        return f"{where} did not answer in HTTP ({type(exc).__name__})"
    if isinstance(cause, OSError | HTTPError):
        why = _why(cause)
        return f"{why[:1].lower()}{why[1:]} while {phase} {where}"
    raise exc


def _head_read(response: HTTPResponse, *, limit: int, deadline: float) -> bytes:
    """Up to `limit` bytes of the body, as they come, never past the deadline."""
    chunks: list[bytes] = []
    size = 0
    while size < limit and time.monotonic() < deadline:
        try:
            chunk = response.read1(limit - size, decode_content=False)
        except (ReadTimeoutError, ProtocolError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class _Deadline:
    """Cuts the connection when the whole send has taken too long. Socket timeouts bound
    each read, not their sum, so a receiver sending a byte at a time would hold a worker
    for ever; shutting the socket down wakes the blocked read at once."""

    def __init__(self, *, conn: HTTPConnection, seconds: float) -> None:
        self.expired = False
        self._conn = conn
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def hold(self, sock: socket.socket | None) -> None:
        """Keep the connected socket: the connection lets go of it when the response says
        it will close, while the body is still being read from it."""
        with self._lock:
            self._sock = sock
            if self.expired:
                _cut(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            # During the TLS handshake the connection holds the plain socket already.
            _cut(self._sock or self._conn.sock)


def _cut(sock: socket.socket | None) -> None:
    if sock is None:
        return
    # The plain socket's shutdown, also for a TLS socket: no close_notify to wait for. It
    # may be closed already.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
