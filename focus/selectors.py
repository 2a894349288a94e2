"""Reads of focus items."""

from __future__ import annotations

import threading
import time

from focus.models import FocusItem

# A view pixel is requested on every page that shows an item: what it needs of the item (is it
# published, how often may it show) is kept in the process for a few seconds instead of being
# read on every view. An item unpublished in the admin stops being counted within this long.
FREQUENCY_TTL_S = 5.0
_frequencies: dict[int, tuple[float, str | None]] = {}
_lock = threading.Lock()


def focus_published_frequency(*, focus_id: int) -> str | None:
    """The frequency of a published item, or None when there is no such published item."""
    now = time.monotonic()
    cached = _frequencies.get(focus_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    frequency = (
        FocusItem.objects.filter(pk=focus_id, published=True)
        .values_list("frequency", flat=True)
        .first()
    )
    with _lock:
        if len(_frequencies) > 4096:  # ids are bounded by the table, but a scan is not
            _frequencies.clear()
        _frequencies[focus_id] = (now + FREQUENCY_TTL_S, frequency)
    return frequency


def focus_frequencies_forget() -> None:
    """Drop what the process remembers (tests, which reuse ids across rolled-back rows)."""
    with _lock:
        _frequencies.clear()
