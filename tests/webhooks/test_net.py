"""The webhook sender against real receivers on loopback: what arrives, what is refused
before any connection, and how long a hostile receiver can hold a send.

Only the resolver is played (`webhooks.net.addresses_of`); sockets, HTTP and TLS are real.
Every attempt to connect is also seen through Python's audit hook, so "no connection" is
checked for addresses where no receiver listens too."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from webhooks import net

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]
FAST = {"connect_timeout": 0.5, "read_timeout": 0.5}

# Receivers end their hanging answers when the test is over.
_STOP = threading.Event()


# ---------------------------------------------------------------- every attempt to connect

_watchers: list[list[Any]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and _watchers:
        _watchers[-1].append(args[1])


sys.addaudithook(_audit)


@contextmanager
def connections_attempted() -> Iterator[list[Any]]:
    """The addresses any socket of this process tried to connect to within the block."""
    seen: list[Any] = []
    _watchers.append(seen)
    try:
        yield seen
    finally:
        _watchers.remove(seen)


# ---------------------------------------------------------------- receivers


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append((self.path, dict(self.headers.items()), body))
        self.server.answer(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a receiver that never answers must not hold the teardown

    def __init__(
        self,
        address: tuple[str, int],
        *,
        answer: Callable[[_Handler], None],
        tls: ssl.SSLContext | None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)
        self.answer = answer
        self.tls = tls
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.peers: list[tuple[Any, ...]] = []

    def get_request(self) -> tuple[socket.socket, Any]:
        request, peer = super().get_request()
        self.peers.append(peer)
        return request, peer

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:
            request = self.tls.wrap_socket(request, server_side=True)
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # refused handshakes and cut connections are what these tests cause


class Receiver:
    def __init__(self, server: _Server) -> None:
        self.server = server
        self.host = str(server.server_address[0])
        self.port = int(server.server_address[1])

    @property
    def requests(self) -> list[tuple[str, dict[str, str], bytes]]:
        return self.server.requests

    def url(self, path: str = "/hook", *, host: str | None = None, scheme: str = "http") -> str:
        host = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{scheme}://{host}:{self.port}{path}"

    def connections(self) -> int:
        """Connections accepted so far. A probe connects last and is waited for: the listen
        queue is first in, first out, so any earlier connection has been counted by then."""
        with socket.create_connection((self.host, self.port), timeout=2) as probe:
            port = probe.getsockname()[1]
            deadline = time.monotonic() + 2
            while not any(peer[1] == port for peer in self.server.peers):
                assert time.monotonic() < deadline, "the probe was never accepted"
                time.sleep(0.01)
        return (
            len(self.server.peers)
            - 1
            - sum(1 for peer in self.server.peers[:-1] if peer[1] == port)
        )


def answer_ok(handler: _Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "2")
    handler.end_headers()
    handler.wfile.write(b"ok")


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[_Server] = []

    def start(
        *,
        answer: Callable[[_Handler], None] = answer_ok,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> Receiver:
        server = _Server((host, 0), answer=answer, tls=tls)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        started.append(server)
        return Receiver(server)

    _STOP.clear()
    yield start
    _STOP.set()
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(receivers: Callable[..., Receiver]) -> Receiver:
    return receivers()


# ---------------------------------------------------------------- the resolver, played


class Resolver:
    """Answers for the names a test gives, in turn (the last answer repeats); the real
    resolver for the rest."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.calls: list[str] = []
        self._real = net.addresses_of

    def __call__(self, *, host: str, port: int) -> list[net.IPAddress]:
        self.calls.append(host)
        turns = self.answers.get(host)
        if turns is None:
            return self._real(host=host, port=port)
        answer = turns.pop(0) if len(turns) > 1 else turns[0]
        return [ipaddress.ip_address(address) for address in answer]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    resolver = Resolver()
    monkeypatch.setattr(net, "addresses_of", resolver)
    return resolver


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


# ---------------------------------------------------------------- what arrives


def test_a_post_reaches_an_allowed_loopback_receiver_with_its_body_and_headers(receiver):
    reply = net.post(
        url=receiver.url("/hook?to=crm"),
        body=b'{"type": "contact.created"}',
        headers={"Content-Type": "application/json", "Webhook-Id": "msg_1"},
        allowed=LOOPBACK,
    )

    assert (reply.status, reply.head, reply.address) == (200, b"ok", "127.0.0.1")
    assert 0 < reply.seconds < 2
    [(path, headers, body)] = receiver.requests
    assert path == "/hook?to=crm"
    assert body == b'{"type": "contact.created"}'
    assert headers["Content-Type"] == "application/json"
    assert headers["Webhook-Id"] == "msg_1"
    assert headers["Content-Length"] == str(len(body))


def test_the_host_header_is_the_name_in_the_url_not_the_address_connected_to(receiver, dns):
    dns.answers["hooks.example.test"] = [["127.0.0.1"]]

    reply = net.post(
        url=receiver.url(host="hooks.example.test"),
        body=b"{}",
        headers={"Host": "evil.example.test"},
        allowed=LOOPBACK,
    )

    assert reply.address == "127.0.0.1"
    [(_, headers, _)] = receiver.requests
    assert headers["Host"] == f"hooks.example.test:{receiver.port}"


def test_an_ipv6_receiver_is_reached_by_its_address_and_by_a_name(receivers, dns):
    if not ipv6_loopback():
        pytest.skip("!!! SKIPPED: this machine has no IPv6 loopback (::1)")
    receiver = receivers(host="::1")
    dns.answers["hooks.example.test"] = [["::1"]]
    allowed = [ipaddress.ip_network("::1/128")]

    by_address = net.post(url=receiver.url(), body=b"1", headers={}, allowed=allowed)
    by_name = net.post(
        url=receiver.url(host="hooks.example.test"), body=b"2", headers={}, allowed=allowed
    )

    assert by_address.address == by_name.address == "::1"
    assert [(headers["Host"], body) for _, headers, body in receiver.requests] == [
        (f"[::1]:{receiver.port}", b"1"),
        (f"hooks.example.test:{receiver.port}", b"2"),
    ]


# ---------------------------------------------------------------- what is refused

REFUSED = [
    ("127.0.0.1", "127.0.0.1 is a loopback address"),
    ("10.0.0.1", "10.0.0.1 is a private address (10.0.0.0/8)"),
    ("172.16.0.1", "172.16.0.1 is a private address (172.16.0.0/12)"),
    ("192.168.1.1", "192.168.1.1 is a private address (192.168.0.0/16)"),
    ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
    ("::1", "::1 is a loopback address"),
    ("::ffff:127.0.0.1", "::ffff:127.0.0.1 is the IPv4-mapped form of 127.0.0.1, a loopback"),
    ("fd00:ec2::254", "fd00:ec2::254 is a cloud metadata address"),
    ("0.0.0.0", "0.0.0.0 is the unspecified address"),  # noqa: S104 - refused, not bound
    ("100.64.0.1", "100.64.0.1 is a shared carrier-grade NAT address"),
    ("64:ff9b::7f00:1", "64:ff9b::7f00:1 is a NAT64 address for 127.0.0.1, a loopback"),
    ("2002:7f00:1::", "2002:7f00:1:: is a 6to4 address for 127.0.0.1, a loopback"),
    (
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2 is a Teredo tunnel address",
    ),
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_an_address_the_server_may_not_reach_is_refused_before_any_connection(
    receiver, address, reason
):
    host = f"[{address}]" if ":" in address else address

    with connections_attempted() as attempts, pytest.raises(net.Refused) as refused:
        net.post(url=receiver.url(host=host), body=b"{}", headers={}, allowed=[])

    assert reason in str(refused.value)
    assert attempts == []
    assert receiver.connections() == 0


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_a_name_resolving_to_an_address_the_server_may_not_reach_is_refused(
    receiver, dns, address, reason
):
    dns.answers["hooks.example.test"] = [[address]]

    with connections_attempted() as attempts, pytest.raises(net.Refused) as refused:
        net.post(url=receiver.url(host="hooks.example.test"), body=b"{}", headers={}, allowed=[])

    what = reason.split(" is ", 1)[1]
    assert str(refused.value).startswith(f"hooks.example.test resolves to {address}, {what}")
    assert attempts == []
    assert receiver.connections() == 0


def test_localhost_is_refused_through_the_real_resolver(receiver):
    with pytest.raises(net.Refused, match=r"^localhost resolves to (127\.0\.0\.1|::1), a loop"):
        net.post(url=receiver.url(host="localhost"), body=b"{}", headers={}, allowed=[])

    assert receiver.connections() == 0


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("169.254.169.254", ["0.0.0.0/0"]),
        ("169.254.169.254", ["169.254.169.254/32"]),
        ("::ffff:169.254.169.254", ["::/0", "0.0.0.0/0"]),
        ("fd00:ec2::254", ["::/0"]),
        ("100.100.100.200", ["100.64.0.0/10"]),
        ("64:ff9b::a9fe:a9fe", ["::/0", "0.0.0.0/0"]),
        ("169.254.170.23", ["169.254.0.0/16"]),
        ("fd00:ec2::23", ["fd00::/8"]),
        ("169.254.0.23", ["169.254.0.0/16"]),
        ("168.63.129.16", []),
    ],
)
def test_cloud_metadata_stays_refused_whatever_the_allowed_networks_say(dns, address, allowed):
    dns.answers["hooks.example.test"] = [[address]]
    networks = [ipaddress.ip_network(network) for network in allowed]

    with connections_attempted() as attempts, pytest.raises(net.Refused, match="metadata"):
        net.post(url="http://hooks.example.test/", body=b"{}", headers={}, allowed=networks)

    assert attempts == []


def test_an_allowed_network_opens_the_private_addresses_it_names_and_no_others():
    allowed = [ipaddress.ip_network("10.8.0.0/16"), ipaddress.ip_network("fd12::/16")]

    def refusal(address: str) -> str | None:
        return net.address_refusal(ip=ipaddress.ip_address(address), allowed=allowed)

    assert refusal("10.8.1.2") is None
    assert refusal("::ffff:10.8.1.2") is None
    assert refusal("fd12::5") is None
    assert refusal("10.9.1.2") == "a private address (10.0.0.0/8)"
    assert refusal("127.0.0.1") == "a loopback address"
    assert refusal("93.184.215.14") is None  # public addresses need no allowance


def test_a_name_resolving_to_a_public_and_a_loopback_address_is_refused(receiver, dns):
    dns.answers["hooks.example.test"] = [["93.184.215.14", "127.0.0.1"]]

    with connections_attempted() as attempts, pytest.raises(net.Refused) as refused:
        net.post(url=receiver.url(host="hooks.example.test"), body=b"{}", headers={}, allowed=[])

    assert str(refused.value) == "hooks.example.test resolves to 127.0.0.1, a loopback address"
    assert attempts == []
    assert receiver.connections() == 0


def test_a_name_is_resolved_once_so_it_cannot_rebind_to_loopback_after_the_check(receiver, dns):
    # The first answer passes the check; every later one points at the receiver.
    dns.answers["rebind.example.test"] = [["10.255.255.1"], ["127.0.0.1"]]

    with connections_attempted() as attempts:
        try:
            reached = net.post(
                url=receiver.url(host="rebind.example.test"),
                body=b"{}",
                headers={},
                allowed=[ipaddress.ip_network("10.255.255.0/24")],
                connect_timeout=0.3,
                read_timeout=0.3,
            ).address
        except net.SendFailed as exc:
            # Usually nothing listens there: timed out, unreachable or refused.
            reached = str(exc)

    # Or a network that intercepts every connection answered for that address.
    assert reached == "10.255.255.1" or f"10.255.255.1:{receiver.port}" in reached
    assert dns.calls == ["rebind.example.test"]
    assert attempts == [("10.255.255.1", receiver.port)]
    assert receiver.connections() == 0


# ---------------------------------------------------------------- what comes back


def test_a_redirect_is_an_answer_and_is_not_followed(receivers):
    elsewhere = receivers()

    def redirect(handler: _Handler) -> None:
        handler.send_response(302)
        handler.send_header("Location", elsewhere.url("/stolen"))
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    receiver = receivers(answer=redirect)

    reply = net.post(url=receiver.url(), body=b"{}", headers={}, allowed=LOOPBACK)

    assert (reply.status, reply.head) == (302, b"")
    assert len(receiver.requests) == 1
    assert elsewhere.connections() == 0


def test_a_long_response_is_read_only_up_to_the_cap(receivers):
    size = 10 * 1024 * 1024

    def flood(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        block = b"x" * 65536
        for _ in range(size // len(block)):
            handler.wfile.write(block)

    receiver = receivers(answer=flood)

    started = time.monotonic()
    reply = net.post(
        url=receiver.url(), body=b"{}", headers={}, allowed=LOOPBACK, max_response_bytes=4096
    )

    assert (reply.status, reply.head) == (200, b"x" * 4096)
    assert time.monotonic() - started < 2


def test_a_receiver_that_never_answers_fails_within_the_read_timeout(receivers):
    receiver = receivers(answer=lambda handler: _STOP.wait(30))

    started = time.monotonic()
    with pytest.raises(net.SendFailed) as failed:
        net.post(url=receiver.url(), body=b"{}", headers={}, allowed=LOOPBACK, **FAST)

    assert str(failed.value) == (
        f"timed out after 0.5 s waiting for the response from 127.0.0.1:{receiver.port}"
    )
    assert 0.4 < time.monotonic() - started < 1.5


def drip(handler: _Handler, opening: bytes) -> None:
    handler.wfile.write(opening)
    while not _STOP.wait(0.2):
        handler.wfile.write(b"a")
        handler.wfile.flush()


def test_a_receiver_dripping_its_headers_is_cut_off_at_the_deadline(receivers):
    receiver = receivers(answer=lambda handler: drip(handler, b"HTTP/1.1 200 OK\r\nX-Slow: "))

    started = time.monotonic()
    with pytest.raises(net.SendFailed) as failed:
        net.post(
            url=receiver.url(),
            body=b"{}",
            headers={},
            allowed=LOOPBACK,
            connect_timeout=0.5,
            read_timeout=1.0,
        )

    # Each byte comes well within the read timeout; only the deadline ends it.
    assert str(failed.value) == (
        f"gave up after 1.5 s waiting for the response from 127.0.0.1:{receiver.port}"
    )
    assert 1.4 < time.monotonic() - started < 2.5


def test_a_receiver_dripping_its_body_is_cut_off_at_the_deadline_and_its_status_stands(
    receivers,
):
    opening = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    receiver = receivers(answer=lambda handler: drip(handler, opening))

    started = time.monotonic()
    reply = net.post(
        url=receiver.url(),
        body=b"{}",
        headers={},
        allowed=LOOPBACK,
        connect_timeout=0.5,
        read_timeout=1.0,
    )

    assert reply.status == 200
    assert 1 <= len(reply.head) < 20
    assert set(reply.head) == {ord("a")}
    assert 1.4 < time.monotonic() - started < 2.5


def test_a_closed_port_fails_as_a_refused_connection():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(net.SendFailed) as failed:
        net.post(url=f"http://127.0.0.1:{port}/", body=b"{}", headers={}, allowed=LOOPBACK, **FAST)

    assert str(failed.value) == f"connection refused by 127.0.0.1:{port}"


# ---------------------------------------------------------------- https


def certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name`, made by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("!!! SKIPPED: the https tests need the openssl command")
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-nodes",
            "-days",
            "1",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName=DNS:{name}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def tls_server(cert: Path, key: Path, names: list[str | None]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def seen(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name)

    context.sni_callback = seen
    return context


def test_https_to_a_self_signed_certificate_fails_naming_the_certificate(receivers, dns, tmp_path):
    names: list[str | None] = []
    receiver = receivers(tls=tls_server(*certificate(tmp_path, "hooks.example.test"), names))
    dns.answers["hooks.example.test"] = [["127.0.0.1"]]

    with pytest.raises(net.SendFailed) as failed:
        net.post(
            url=receiver.url(host="hooks.example.test", scheme="https"),
            body=b"{}",
            headers={},
            allowed=LOOPBACK,
            **FAST,
        )

    assert str(failed.value).startswith("the certificate of hooks.example.test could not be")
    assert "self-signed certificate" in str(failed.value)
    assert names == ["hooks.example.test"]
    assert receiver.requests == []


def test_https_checks_the_certificate_against_the_name_while_connecting_to_the_address(
    receivers, dns, tmp_path, monkeypatch
):
    names: list[str | None] = []
    cert, key = certificate(tmp_path, "hooks.example.test")
    receiver = receivers(tls=tls_server(cert, key, names))
    dns.answers["hooks.example.test"] = [["127.0.0.1"]]
    dns.answers["other.example.test"] = [["127.0.0.1"]]
    dns.answers["hooks.example.test."] = [["127.0.0.1"]]
    # Trust this certificate as the system's store would trust a real one.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    reply = net.post(
        url=receiver.url(host="hooks.example.test", scheme="https"),
        body=b"{}",
        headers={},
        allowed=LOOPBACK,
        **FAST,
    )
    fully_qualified = net.post(
        url=receiver.url(host="hooks.example.test.", scheme="https"),
        body=b"{}",
        headers={},
        allowed=LOOPBACK,
        **FAST,
    )
    with pytest.raises(net.SendFailed) as failed:
        net.post(
            url=receiver.url(host="other.example.test", scheme="https"),
            body=b"{}",
            headers={},
            allowed=LOOPBACK,
            **FAST,
        )

    assert (reply.status, reply.address) == (200, "127.0.0.1")
    assert fully_qualified.status == 200
    assert receiver.requests[0][1]["Host"] == f"hooks.example.test:{receiver.port}"
    assert names == ["hooks.example.test", "hooks.example.test", "other.example.test"]
    assert str(failed.value).startswith(
        f"the certificate at 127.0.0.1:{receiver.port} is not valid for other.example.test"
    )
    assert len(receiver.requests) == 2


# ---------------------------------------------------------------- a URL as it is saved


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/hook", "only http and https URLs are accepted, not ftp"),
        ("example.com/hook", "only http and https URLs are accepted, not none"),
        ("https://user:secret@example.com/hook", "the URL carries a user name or password"),
        ("https://token@example.com/hook", "the URL carries a user name or password"),
        ("https:///hook", "the URL names no host"),
        ("https://", "the URL names no host"),
        ("https://example.com:99999/", "the URL cannot be read: Port out of range"),
        ("https://example.com:0/", "port 0 cannot be connected to"),
        ("https://example.com/a hook", "the URL contains a space or a control character"),
        ("https://exämple.com/", "the URL contains characters outside ASCII"),
        ("http://2130706433/", "2130706433 is neither a host name nor an IP address"),
        ("http://0x7f.1/", "0x7f.1 is neither a host name nor an IP address"),
        ("http://exa_mple-.com/", "exa_mple-.com is not a host name"),
        ("http://[fe80::1%25eth0]/", "an IPv6 address with a zone"),
    ],
)
def test_a_url_that_cannot_name_a_receiver_is_refused_as_written(url, problem):
    found = net.url_syntax_problem(url)

    assert found is not None
    assert found.startswith(problem)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "http://hooks.example.com:8080/in?token=abc",
        "https://xn--exmple-cua.com/",
        "http://[2001:db8::1]/",  # refused when sent (documentation range), not as written
        "http://10.0.0.5/",
    ],
)
def test_a_url_that_can_name_a_receiver_is_accepted_as_written(url):
    assert net.url_syntax_problem(url) is None
