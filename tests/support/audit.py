"""The cookie audit run on some of its surfaces only, against the live test server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from audit.rules import Mode, State
from audit.run import run_audit
from audit.targets import InProcessTarget


def surfaces_audit(
    live_server: Any,
    settings: Any,
    tmp_path: Any,
    *,
    surfaces: Sequence[str],
    modes: Sequence[Mode],
    states: Sequence[State],
) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    return run_audit(
        InProcessTarget(live_server.url, modes=tuple(modes)),
        states=list(states),
        surfaces=list(surfaces),
        problems=[],
    )
