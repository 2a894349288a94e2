"""One Redis client per process (redis-py pools connections and is thread-safe), and the hot
path's own way to append to a stream."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cache

import redis
from django.conf import settings
from redis.connection import AbstractConnection


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=0.5, socket_timeout=1.0, health_check_interval=30
    )


def get_redis() -> redis.Redis | None:
    """The Redis client, or None on the embedded default (no REDIS_URL)."""
    url = settings.REDIS_URL
    return _client(url) if url else None


class StreamWriter:
    """XADD over one connection this process keeps to itself.

    redis-py's command path (pool checkout and return, retry wrapper, instrumentation) costs
    about three times the round trip itself, and the hot path pays it on every hit. The
    connection is still redis-py's (AUTH, SELECT, TLS, timeouts from the URL); it is opened on
    first use, dropped after any error and opened again on the next append. A forked child
    never uses its parent's socket.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: AbstractConnection | None = None
        self._client: redis.Redis | None = None  # the client the connection was built from
        self._owner = 0  # the pid the connection belongs to

    def append(self, client: redis.Redis, stream: str, field: str, value: bytes) -> None:
        """One entry; a second attempt on a fresh connection when the first one fails. Raises
        redis.RedisError when Redis cannot take it."""
        try:
            self.append_many(client, stream, field, [value])
        except (redis.ConnectionError, redis.TimeoutError):
            # Redis may have taken the first attempt before the connection broke: the drain
            # is idempotent by event id, so a second copy is never a second row.
            self.append_many(client, stream, field, [value])

    def append_many(
        self, client: redis.Redis, stream: str, field: str, values: Sequence[bytes]
    ) -> None:
        """Many entries in one round trip (pipelined XADDs). Raises redis.RedisError when
        Redis cannot take them all; the caller keeps them and tries again."""
        with self._lock:
            try:
                connection = self._connected(client)
                commands = [("XADD", stream, "*", field, value) for value in values]
                connection.send_packed_command(connection.pack_commands(commands))  # type: ignore[no-untyped-call]
                # Every reply must be read, errors included, or the next command on this
                # connection would read a stale one.
                errors = []
                for _ in commands:
                    try:
                        connection.read_response()
                    except redis.ResponseError as exc:
                        errors.append(exc)
                if errors:
                    raise errors[0]
            except redis.RedisError:
                self._drop()
                raise

    def _connected(self, client: redis.Redis) -> AbstractConnection:
        if (
            self._connection is None
            or self._owner != os.getpid()
            or self._client is not client  # another REDIS_URL (settings changed)
        ):
            self._drop()
            self._client = client
            # Built like the pool's own connections, but not counted among them: the pool
            # never hands it out and never waits for it back.
            pool = client.connection_pool
            self._connection = pool.connection_class(**pool.connection_kwargs)
            self._owner = os.getpid()
        return self._connection

    def _drop(self) -> None:
        if self._connection is not None and self._owner == os.getpid():
            self._connection.disconnect()  # type: ignore[no-untyped-call]
        self._connection = None

    def close(self) -> None:
        with self._lock:
            self._drop()


stream_writer = StreamWriter()
