from __future__ import annotations

from typing import Any

from audiences.filters import filters_clean
from audiences.models import Audience


def audience_create(*, name: str, filters: Any) -> Audience:
    """A ValidationError names any bad filter: nothing unchecked is stored."""
    return Audience._default_manager.create(name=name, filters=filters_clean(filters))


def audience_update(
    *, audience: Audience, name: str | None = None, filters: Any = None
) -> Audience:
    if name is not None:
        audience.name = name
    if filters is not None:
        audience.filters = filters_clean(filters)
    audience.save()
    return audience
