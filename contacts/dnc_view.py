"""Who is on Do-Not-Contact, kept in each web process, so that an identified hit asks no
database (DNC_LISTEN, PostgreSQL only).

The view holds the public ids of the devices of contacts with any Do-Not-Contact entry: an
identified hit is a dictionary lookup. A thread of the process LISTENs on PostgreSQL,
whose triggers (contacts migration 0006) send the contact id of every Do-Not-Contact entry
and every device that is written, moved or deleted, when its transaction commits. The thread
reads those contacts again and replaces what it held for them. Its order makes a lost change
impossible: it listens first, then reads everything, then applies every notice received
since, each read made after the notice's commit.

Until the copy is read, and from the moment the thread loses its connection until it has
listened and read everything again, the view answers None and the caller asks the database,
as it did before. The process that makes a change reads it again at once (on commit), so it
never answers from before its own write. Every REFRESH_S the whole copy is read again, a bound
on any harm a change made with the triggers switched off could do.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction

from contacts.models import Device, DoNotContact

logger = logging.getLogger("contacts.dnc_view")

CHANNEL = "consentry_dnc"  # contacts/migrations/0006_dnc_notify.py
# How the listener's connection shows in pg_stat_activity.
APPLICATION_NAME = "consentry dnc view"
REFRESH_S = 300.0
# How long the thread waits after a failure before it connects again.
RETRY_S = 1.0

_DNC = DoNotContact._meta.db_table
_DEVICE = Device._meta.db_table
_ALL_SQL = (
    f"SELECT public_id, contact_id FROM {_DEVICE}"  # noqa: S608
    f" WHERE contact_id IN (SELECT contact_id FROM {_DNC})"
)
_SOME_SQL = _ALL_SQL + " AND contact_id = ANY(%s)"


class DncView:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner = 0  # the pid the thread runs in; a forked child starts its own
        self._ready = False
        self._stop = threading.Event()
        self._devices: dict[str, int] = {}  # public id -> its contact, for contacts on DNC
        self._by_contact: dict[int, set[str]] = {}

    # The hot path's questions: None when the view cannot answer (ask the database).

    def device_on_dnc(self, public_id: str) -> bool | None:
        if not self._started():
            return None
        return public_id in self._devices

    def _started(self) -> bool:
        if not settings.DNC_LISTEN:
            return False
        if self._owner != os.getpid():
            if connection.vendor != "postgresql":
                return False
            with self._lock:
                if self._owner != os.getpid():
                    self._start()
        return self._ready

    def _start(self) -> None:
        self._owner = os.getpid()
        self._ready = False
        self._stop = threading.Event()
        self._devices, self._by_contact = {}, {}
        threading.Thread(target=self._listen, name="dnc-view", daemon=True).start()

    def stop(self) -> None:
        """Stop listening; the next question starts it again."""
        with self._lock:
            self._stop.set()
            self._ready = False
            self._owner = 0

    # The thread.

    def _listen(self) -> None:
        import psycopg

        stop = self._stop
        while not stop.is_set():
            try:
                params = connection.get_connection_params()
                params.pop("cursor_factory", None)
                params["application_name"] = APPLICATION_NAME
                with psycopg.connect(**params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._read_all(conn)
                    read_at = time.monotonic()
                    while not stop.is_set():
                        ids = [int(n.payload) for n in conn.notifies(timeout=1.0, stop_after=1)]
                        if ids:  # and whatever else has arrived meanwhile, as one read
                            ids += [int(n.payload) for n in conn.notifies(timeout=0.01)]
                            self._read_some(conn, set(ids))
                        if time.monotonic() - read_at > REFRESH_S:
                            self._read_all(conn)
                            read_at = time.monotonic()
            except Exception as exc:  # the view answers None meanwhile: callers ask the database
                self._ready = False
                logger.warning(
                    "Do-Not-Contact view: %s: %s; listening again", type(exc).__name__, exc
                )
                stop.wait(RETRY_S)

    # Each read is made and applied under the lock, so that a later read is never overwritten
    # by an earlier one (the listener and a request of this process may both read a contact).

    def _read_all(self, conn: object) -> None:
        with self._lock:
            by_contact: dict[int, set[str]] = {}
            for public_id, contact_id in _rows(conn, _ALL_SQL, ()):
                by_contact.setdefault(contact_id, set()).add(public_id)
            self._by_contact = by_contact
            self._devices = {p: c for c, ps in by_contact.items() for p in ps}
            self._ready = True

    def _read_some(self, conn: object, contact_ids: set[int]) -> None:
        with self._lock:
            self._apply(contact_ids, _rows(conn, _SOME_SQL, (list(contact_ids),)))

    def _apply(self, contact_ids: set[int], devices: Iterable[tuple[str, int]]) -> None:
        # Rebuilt for the contacts read, and only for them; a device moved from one contact to
        # another names both, so it leaves the first one's set here.
        for contact_id in contact_ids:
            for public_id in self._by_contact.pop(contact_id, ()):
                if self._devices.get(public_id) == contact_id:
                    del self._devices[public_id]
        for public_id, contact_id in devices:
            self._by_contact.setdefault(contact_id, set()).add(public_id)
            self._devices[public_id] = contact_id

    def changed(self, contact_id: int) -> None:
        """This process changed the contact's standing: read it again on commit, in this
        thread, so that the next hit here cannot be answered from before the change."""
        transaction.on_commit(lambda: self._read_now(contact_id))

    def _read_now(self, contact_id: int) -> None:
        if not self._ready or self._owner != os.getpid():
            return
        with self._lock, connection.cursor() as cursor:
            cursor.execute(_SOME_SQL, [[contact_id]])
            self._apply({contact_id}, [(str(p), int(c)) for p, c in cursor.fetchall()])


def _rows(conn: object, sql: str, params: tuple[object, ...]) -> list[tuple[str, int]]:
    cursor = conn.cursor()  # type: ignore[attr-defined]
    return [(str(p), int(c)) for p, c in cursor.execute(sql, params).fetchall()]


dnc_view = DncView()
