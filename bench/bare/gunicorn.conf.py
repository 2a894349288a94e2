"""gunicorn settings for the bare baseline: the tracker's own gunicorn.conf.py (access log and
its format included, so both servers do the same per-request logging) without its hooks, which
start Consentry's embedded scheduler and need Consentry's settings."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

_TRACKER_CONFIG = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
_settings: dict[str, Any] = runpy.run_path(str(_TRACKER_CONFIG))

# Plain values only: gunicorn ignores names that are not settings; hooks are functions.
globals().update(
    {
        name: value
        for name, value in _settings.items()
        if not name.startswith("_") and isinstance(value, str | int | float | bool | list | dict)
    }
)
