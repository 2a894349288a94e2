"""Webhook delivery through a real Celery worker with beat, on PostgreSQL and Redis, to a real
receiver on loopback: every event arrives signed, once; a worker killed with SIGKILL in the
middle of a send loses nothing, and what it sends again carries the same id and bytes; retries
happen on their own (the worker's countdowns and beat's sweep), with no one calling a service."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from contacts.services import contact_upsert
from tests.conftest import celery_worker_start, celery_worker_stop
from tests.support.receiver import Answer, Receiver, receiver_serve
from webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint, WebhookEvent
from webhooks.services import endpoint_create, lease

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

TIMEOUT_S = 2
# The worker's settings come from its environment: loopback is allowed, answers are awaited
# TIMEOUT_S, and the first retry comes after about a second.
WORKER_ENV = {
    "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT_S),
    "WEBHOOK_RETRY_FIRST_SECONDS": "1",
}


class Workers:
    """Celery workers with beat started by one test; whatever is left is stopped at its end."""

    def __init__(self, schedule: Path) -> None:
        self.schedule = schedule
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        process = celery_worker_start(self.schedule, env=WORKER_ENV)
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL, as the kernel's OOM killer or a lost node would: no warm shutdown, no
        acknowledgement, no chance to record what was being sent. The embedded beat is a
        child of the worker and dies with it, as it would with the node."""
        children = _children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)
        self.running.remove(process)

    def stop_all(self) -> None:
        for process in self.running:
            celery_worker_stop(process)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


@pytest.fixture
def workers(transactional_db: Any, redis_client: Any, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(tmp_path / "beat-schedule")
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiver_serve()


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


def all_succeeded() -> bool:
    return not Delivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists()


def contacts_emit(count: int) -> set[str]:
    """`count` contact.created events, each emitted on the commit of its own contact; their
    webhook ids."""
    for n in range(count):
        contact_upsert(email=f"person{n}@example.com")
    events = WebhookEvent.objects.filter(type="contact.created")
    assert events.count() == count
    return {event.msg_id for event in events}


def test_every_event_arrives_signed_and_once(workers, receiver):
    endpoint = endpoint_create(url=receiver.url, events=["contact.created"])
    worker = workers.start()
    expected = contacts_emit(40)

    wait_until(all_succeeded, timeout=30, what="every delivery succeeded")
    received = receiver.requests
    ids = [r.headers["webhook-id"] for r in received]
    assert sorted(ids) == sorted(expected)  # each event, and each once
    hook = Webhook(endpoint.secret)
    emails = set()
    for request in received:
        payload = hook.verify(request.body, request.headers)
        assert payload["type"] == "contact.created"
        emails.add(payload["data"]["contact"]["email"])
    assert emails == {f"person{n}@example.com" for n in range(40)}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    assert worker.poll() is None


def test_a_worker_killed_mid_send_loses_nothing_and_resends_the_same_bytes(workers, receiver):
    endpoint = endpoint_create(url=receiver.url, events=["contact.created"])
    # Slow answers, so that the worker is always in the middle of a send.
    receiver.default = Answer(pause=0.3)
    count = 20
    expected = contacts_emit(count)
    first = workers.start()

    # The fourth request has just arrived and is held by the receiver: the worker is waiting
    # for its answer when it dies.
    receiver.wait_for(4, timeout=30)
    held = receiver.requests[3].headers["webhook-id"]
    workers.kill(first)
    assert Delivery.objects.get(event__id=held.removeprefix("msg_")).status == "pending"

    workers.start()
    # The dead worker's send is taken again once its lease ran out and it is handed to the
    # queue again (a minute after it was last handed: the sweep does not know the task died).
    wait_until(
        all_succeeded,
        timeout=lease().total_seconds() + 60 + 15,
        what="every delivery succeeded after the kill",
    )

    by_id: dict[str, list[Any]] = {}
    for request in receiver.requests:
        by_id.setdefault(request.headers["webhook-id"], []).append(request)
    assert set(by_id) == expected  # nothing lost
    hook = Webhook(endpoint.secret)
    for copies in by_id.values():
        # A copy is the same event: the same id and the same bytes, each validly signed (its
        # timestamp is that of its own attempt), so a receiver that drops ids it knows sees
        # each event exactly once.
        assert {c.body for c in copies} == {copies[0].body}
        for copy in copies:
            hook.verify(copy.body, copy.headers)
    # The one being sent when the worker died reached the receiver but was never recorded as
    # answered: it is the duplicate, and the only one.
    duplicated = {msg_id for msg_id, copies in by_id.items() if len(copies) > 1}
    assert duplicated == {held}
    assert len(by_id[held]) == 2
    assert Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == count
    delivery = Delivery.objects.get(event__id=held.removeprefix("msg_"))
    # The attempt cut short by the kill left no trace but the duplicate: one recorded attempt.
    assert delivery.attempts == 1
    assert Endpoint.objects.get().active


def test_failures_are_retried_by_the_worker_until_one_succeeds(workers, receiver):
    endpoint_create(url=receiver.url, events=["contact.created"])
    receiver.script = [Answer(status=500), Answer(pause=TIMEOUT_S + 1.5), Answer(status=200)]
    workers.start()
    (msg_id,) = contacts_emit(1)

    wait_until(all_succeeded, timeout=30, what="the delivery succeeded")
    delivery = Delivery.objects.get()
    assert delivery.attempts == 3
    attempts = list(Attempt.objects.filter(delivery=delivery).order_by("at"))
    assert [a.status_code for a in attempts] == [500, None, 200]
    assert "timed out" in attempts[1].error or "gave up" in attempts[1].error
    assert attempts[1].milliseconds >= TIMEOUT_S * 1000 - 100
    # Each retry waited its backoff: half a second to one after the 500 (then the timeout
    # itself), two to four after the timeout (WEBHOOK_RETRY_FIRST_SECONDS=1, times four each
    # time, half of it jittered).
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.5 + TIMEOUT_S
    assert gaps[1] >= 2.0
    assert receiver.ids() == [msg_id] * 3
    assert len({r.body for r in receiver.requests}) == 1
