"""The embedded default survives load: `make run`'s own server line on SQLite, many
concurrent writers, no errors and every accepted hit stored.

Needs no external service: it serves a fresh SQLite file under a temporary VAR_DIR, without
DATABASE_URL or REDIS_URL, exactly as `make run` does (bench/embedded.py is the full-size run).
"""

from __future__ import annotations

from bench.embedded import embedded_bench


def test_concurrent_writers_on_make_run_get_no_errors_and_every_hit_is_stored():
    result = embedded_bench(writers=24, duration=8)

    assert result.tally.samples == []
    assert result.stored.log_failures == []
    assert result.lost == []
    # Every kind of write happened, identified hits included (a device made on the first).
    assert set(result.tally.requests) == {"pageview", "pixel", "submit", "consent"}
    assert result.tally.forms > 0
    assert result.tally.consents > 0
    assert result.stored.identified_hits > 0
    assert result.stored.hits_stored == len(result.tally.hits) > 0
