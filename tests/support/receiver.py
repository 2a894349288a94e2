"""A real HTTP receiver on loopback for webhook tests: it records every request and answers
as a test scripts it (a status, a pause before answering, a body)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    pause: float = 0.0
    # None: the request's own body is echoed back (as some receivers do).
    body: bytes | None = b"ok"


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Answers in order; when they run out, `default` answers.
    script: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=Answer)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> Answer:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} requests arrived, not {count}")
            time.sleep(0.02)
        return self.requests


def receiver_serve() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            receiver = holder["receiver"]
            received = Received(
                path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body
            )
            with receiver.lock:
                receiver.requests.append(received)
            answer = receiver.next_answer()
            if answer.pause:
                time.sleep(answer.pause)
            reply = body if answer.body is None else answer.body
            try:
                self.send_response(answer.status)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except OSError:
                pass  # the sender gave up waiting: as a real receiver, carry on

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_port}/hooks")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["receiver"]
    finally:
        server.shutdown()
        server.server_close()
