"""The small filter language that picks a variant: a list of conditions, each a field, an
operator and a value, joined by "and" (or "or", which starts a new group). It is data, read
and compared here, never evaluated as code; there is no regular expression operator, so no
filter can make a request slow.

A contact's profile is a flat map of text: its name fields and custom fields, and the
computed consent_tracking, consent_email (grant, withdraw, object or "") and dnc_<channel>
("true"/"false")."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError

OPERATORS = frozenset(
    {
        "eq",
        "neq",
        "contains",
        "not_contains",
        "starts",
        "ends",
        "empty",
        "not_empty",
        "gt",
        "gte",
        "lt",
        "lte",
        "in",
        "not_in",
    }
)
_NO_VALUE = frozenset({"empty", "not_empty"})
_LISTS = frozenset({"in", "not_in"})
_FIELD = re.compile(r"^[A-Za-z0-9_]{1,100}$")
MAX_CONDITIONS = 20
MAX_VALUES = 50
MAX_VALUE_LENGTH = 200

Condition = dict[str, Any]


def _text(value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError(f"{where}: the value must be text or a number")
    text = str(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise ValidationError(f"{where}: the value is longer than {MAX_VALUE_LENGTH} characters")
    return text


def filters_check(*, filters: object) -> list[Condition]:
    """The filters in their normal form, or a ValidationError naming the first problem."""
    if filters in (None, ""):
        return []
    if not isinstance(filters, list):
        raise ValidationError("filters must be a list of conditions")
    if len(filters) > MAX_CONDITIONS:
        raise ValidationError(f"at most {MAX_CONDITIONS} conditions")
    checked: list[Condition] = []
    for n, condition in enumerate(filters, start=1):
        where = f"condition {n}"
        if not isinstance(condition, dict):
            raise ValidationError(f"{where}: must be an object with field, op and value")
        unknown = set(condition) - {"field", "op", "value", "glue"}
        if unknown:
            raise ValidationError(f"{where}: unknown keys {sorted(unknown)}")
        field = condition.get("field")
        if not isinstance(field, str) or not _FIELD.match(field):
            raise ValidationError(f"{where}: field must be a field name (letters, digits, _)")
        op = condition.get("op")
        if op not in OPERATORS:
            raise ValidationError(f"{where}: op must be one of {', '.join(sorted(OPERATORS))}")
        glue = condition.get("glue", "and")
        if glue not in ("and", "or"):
            raise ValidationError(f"{where}: glue must be 'and' or 'or'")
        value: str | list[str] = ""
        if op in _LISTS:
            raw = condition.get("value")
            if not isinstance(raw, list) or not raw or len(raw) > MAX_VALUES:
                raise ValidationError(f"{where}: value must be a list of 1 to {MAX_VALUES} values")
            value = [_text(v, where) for v in raw]
        elif op not in _NO_VALUE:
            if "value" not in condition:
                raise ValidationError(f"{where}: value is required for {op}")
            value = _text(condition["value"], where)
        checked.append({"field": field, "op": op, "value": value, "glue": glue})
    return checked


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _holds(condition: Condition, profile: Mapping[str, str]) -> bool:
    have = profile.get(condition["field"], "").strip().casefold()
    op = condition["op"]
    if op == "empty":
        return have == ""
    if op == "not_empty":
        return have != ""
    if op in _LISTS:
        wanted = {str(v).strip().casefold() for v in condition["value"]}
        return (have in wanted) is (op == "in")
    want = str(condition["value"]).strip().casefold()
    if op == "eq":
        return have == want
    if op == "neq":
        return have != want
    if op == "contains":
        return want in have
    if op == "not_contains":
        return want not in have
    if op == "starts":
        return have.startswith(want)
    if op == "ends":
        return have.endswith(want)
    # gt, gte, lt, lte: numbers only; a field that is not a number never matches.
    a, b = _number(have), _number(want)
    if a is None or b is None:
        return False
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


def filters_match(*, filters: Sequence[Condition], profile: Mapping[str, str]) -> bool:
    """Do the (checked) filters hold for this profile? Groups split at each "or"; a group
    holds when all its conditions do. No filters: every known contact matches."""
    if not filters:
        return True
    groups: list[list[Condition]] = [[]]
    for condition in filters:
        if condition.get("glue") == "or" and groups[-1]:
            groups.append([])
        groups[-1].append(condition)
    return any(all(_holds(c, profile) for c in group) for group in groups)
