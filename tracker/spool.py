"""A web worker's spool: hits are appended to a local file and shipped to the stream in batches.

One Redis round trip per hit is the largest cost of a hit after Django itself (a loopback
TCP send and receive cost more than the hit's own work). Appending a line to a file costs
about a microsecond, and one pipelined round trip then carries every line written in the last
EVENT_BATCH_MS milliseconds.

Nothing is lost on the way: the file is written before the response is sent, so a hit that
was answered is on disk even if the worker is killed a moment later (SIGKILL, out of memory, a
crash). Each spool file is held under an exclusive lock by the worker writing it; the kernel
releases that lock when the worker dies, however it dies, and the next worker to look (each
looks when it starts, and every few seconds) ships what the dead one left. A file is deleted
only after Redis (or, when Redis cannot be reached, PostgreSQL) has taken all of it; a file
shipped twice after a crash in between is harmless, the drain stores each event id once.

The spool lives in VAR_DIR/spool, which must be on a local disk (file locks over a network
file system are not to be trusted).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import multiprocessing.util
import os
import secrets
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from consentry.redis import StreamWriter, get_redis
from consentry.streams import shard_next
from tracker.store import deadletter_add, events_store_now

logger = logging.getLogger("tracker.spool")

SUFFIX = ".spool"
# Ship early when a file grows past this, whatever the time: a burst never builds a large file.
SHIP_BYTES = 256 * 1024
# How often a worker looks for files that dead workers left behind.
RECOVER_EVERY_S = 5.0
# Lines per pipelined round trip to Redis.
CHUNK = 500


# The spool's own connection to Redis (the hot path's single appends have theirs).
shipper = StreamWriter()


def spool_dir() -> Path:
    return Path(settings.VAR_DIR) / "spool"


@dataclass
class _Segment:
    """One spool file, open and locked by this process."""

    path: Path
    fd: int
    size: int = 0

    @classmethod
    def create(cls, directory: Path) -> _Segment:
        name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        draft, path = directory / f"{name}.new", directory / f"{name}{SUFFIX}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        # Locked before it gets the name the recovery looks for, so that no other worker can
        # ever take a live file for an orphan. Never blocks: nobody else knows the draft.
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(draft, path)
        return cls(path, fd)


@dataclass
class Spool:
    """The spool of one process (a web worker): thread-safe, fork-aware."""

    interval: float
    directory: Path
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ship_lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _segment: _Segment | None = None
    # Full segments waiting to be shipped (a failed shipment stays here and is tried again).
    _full: list[_Segment] = field(default_factory=list)
    _owner: int = 0
    _thread: threading.Thread | None = None
    _stopping: bool = False

    def append(self, payload: bytes) -> None:
        """Write one event. Raises OSError when the spool cannot be written (the caller then
        sends the event on its own)."""
        line = payload + b"\n"
        with self._lock:
            if self._owner != os.getpid():
                self._start()
            segment = self._segment
            if segment is None:
                segment = self._segment = _Segment.create(self.directory)
            written = os.write(segment.fd, line)
            if written != len(line):  # a full disk: the line is torn, and would be dropped
                raise OSError(f"spool: wrote {written} of {len(line)} bytes")
            segment.size += written
            if segment.size >= SHIP_BYTES:
                self._wake.set()

    def _start(self) -> None:
        """First use in this process (a forked worker inherits no thread and no file)."""
        self._owner = os.getpid()
        self._segment, self._full = None, []
        self._stopping = False
        self.directory.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="consentry-spool", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        recovered = -RECOVER_EVERY_S  # look for what dead workers left at once
        while True:
            try:
                if time.monotonic() - recovered >= RECOVER_EVERY_S:
                    recovered = time.monotonic()
                    spool_recover(directory=self.directory)
                self._wake.wait(self.interval)
                self._wake.clear()
                self.flush()
            except Exception:  # the thread must survive anything; the files stay on disk
                logger.exception("spool: shipping failed; the events stay on disk")
            finally:
                close_old_connections()
            if self._stopping:
                return

    def flush(self) -> int:
        """Ship everything written so far. Returns how many events were shipped."""
        with self._ship_lock:
            with self._lock:
                if self._owner != os.getpid():
                    return 0
                if self._segment is not None and self._segment.size:
                    self._full.append(self._segment)
                    self._segment = None
                full, self._full = self._full, []
            shipped, failed = 0, []
            for segment in full:
                try:
                    shipped += _ship(segment.path)
                except (redis.RedisError, DatabaseError, OSError) as exc:
                    logger.warning("spool: %s stays on disk (%s)", segment.path.name, exc)
                    failed.append(segment)
                    continue
                _release(segment)
            if failed:
                with self._lock:
                    self._full[:0] = failed
            return shipped

    def close(self) -> None:
        """Ship what is left and stop (a worker's graceful exit)."""
        if self._owner != os.getpid():
            return
        self._stopping = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.flush()
        with self._lock:
            if self._segment is not None:
                _release(self._segment)
                self._segment = None


def _release(segment: _Segment) -> None:
    """Delete a shipped file, then let its lock go."""
    with contextlib.suppress(FileNotFoundError):
        segment.path.unlink()
    os.close(segment.fd)


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().split(b"\n") if line.strip()]


def _ship(path: Path) -> int:
    """Append every line of a file to the stream, or, without Redis, store them directly."""
    lines = _lines(path)
    if not lines:
        return 0
    client = get_redis()
    if client is not None:
        try:
            _stream_add(client, lines)
            return len(lines)
        except redis.RedisError as exc:
            logger.warning(
                "spool: Redis unreachable (%s): writing %d events through", exc, len(lines)
            )
    _store(lines)
    return len(lines)


def _stream_add(client: redis.Redis, lines: Sequence[bytes]) -> None:
    for start in range(0, len(lines), CHUNK):
        shipper.append_many(client, shard_next().stream, "e", lines[start : start + CHUNK])


def _store(lines: Sequence[bytes]) -> None:
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError as exc:  # a line torn by a crash mid-write: kept for an operator
            deadletter_add(
                event={"unreadable": repr(line)[:10000]},
                error=f"torn spool line: {exc}",
                source="spool",
            )
    events_store_now(events, source="spool")


def spool_recover(*, directory: Path | None = None) -> int:
    """Ship the files of workers that died: a file whose lock can be taken has no owner."""
    directory = directory or spool_dir()
    if not directory.is_dir():
        return 0
    shipped = 0
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # shipped by its owner meanwhile
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live worker's
                continue
            if os.fstat(fd).st_nlink == 0:  # deleted after shipping, just before we opened it
                continue
            count = _ship(path)
            path.unlink(missing_ok=True)
            shipped += count
            logger.warning("spool: shipped %d events left by a stopped worker", count)
        finally:
            os.close(fd)
    # A worker that died between creating its file and naming it wrote nothing to it; a
    # minute old, such a draft belongs to no one.
    for draft in directory.glob("*.new"):
        with contextlib.suppress(OSError):
            if time.time() - draft.stat().st_mtime > 60:
                draft.unlink()
    return shipped


_spool: Spool | None = None
_spool_key: tuple[int, object] | None = None
_spool_lock = threading.Lock()


def spool() -> Spool | None:
    """This process's spool, or None when events go to the stream one by one (no Redis, or
    EVENT_BATCH_MS=0)."""
    global _spool, _spool_key
    batch_ms, var_dir = settings.EVENT_BATCH_MS, settings.VAR_DIR
    if not settings.REDIS_URL or batch_ms <= 0:
        return None
    # Compared as the settings' own values: this runs on every hit.
    if _spool is None or _spool_key != (batch_ms, var_dir):
        with _spool_lock:
            if _spool is None or _spool_key != (batch_ms, var_dir):
                if _spool is not None:
                    _spool.close()
                _spool = Spool(interval=batch_ms / 1000, directory=spool_dir())
                _spool_key = (batch_ms, var_dir)
    return _spool


def spool_flush() -> int:
    """Ship this process's spool now (a drain in the same process, a test)."""
    return _spool.flush() if _spool is not None else 0


def spool_close() -> None:
    if _spool is not None:
        _spool.close()


atexit.register(spool_close)
# A server whose workers are multiprocessing children (granian) ends each with os._exit, which
# runs no atexit handler; multiprocessing runs its own finalizers just before.
multiprocessing.util.Finalize(None, spool_close, exitpriority=10)
