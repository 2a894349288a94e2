"""Reading what a page sends, strictly: size, type, encoding and shape are checked before
anything else looks at it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest

MAX_BODY = 16 * 1024
MAX_FIELDS = 64
MAX_VALUE = 4096


class BadInput(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def _clean(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise BadInput(400, "invalid_field", f"{key[:50]!r} must be a string")
    # NUL, control characters and lone surrogates were refused at the edge (consentry/text.py).
    return value[:MAX_VALUE]


def _fields(pairs: list[tuple[str, object]]) -> dict[str, str]:
    if len(pairs) > MAX_FIELDS:
        raise BadInput(400, "too_many_fields", f"at most {MAX_FIELDS} fields")
    return {str(k)[:64]: _clean(str(k), v) for k, v in pairs}


def payload_read(request: HttpRequest) -> dict[str, str]:
    """The fields of a POST body: JSON (application/json or text/plain) or form-encoded."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY:
        raise BadInput(413, "too_large", f"the body must be under {MAX_BODY} bytes")
    body = request.body
    if len(body) > MAX_BODY:
        raise BadInput(413, "too_large", f"the body must be under {MAX_BODY} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(400, "bad_encoding", "the body must be UTF-8") from None
    content_type = request.content_type or ""
    if content_type in ("application/json", "text/plain"):
        try:
            data = json.loads(text) if text.strip() else {}
        except (ValueError, RecursionError):
            raise BadInput(400, "bad_json", "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadInput(400, "bad_json", "the body must be a JSON object")
        return _fields(list(data.items()))
    if content_type in ("application/x-www-form-urlencoded", ""):
        try:
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except ValueError:
            raise BadInput(400, "too_many_fields", f"at most {MAX_FIELDS} fields") from None
        return _fields(list(pairs))
    if content_type == "multipart/form-data":
        try:
            return _fields([(k, v) for k, v in request.POST.items()])
        except (ValueError, TooManyFieldsSent) as exc:
            raise BadInput(400, "bad_form", "the form data cannot be read") from exc
    raise BadInput(415, "unsupported_media_type", "send JSON or form-encoded fields")


def query_read(request: HttpRequest) -> dict[str, str]:
    if len(request.META.get("QUERY_STRING", "")) > MAX_BODY:
        raise BadInput(414, "too_large", "the query string is too long")
    return _fields([(k, v) for k, v in request.GET.items()])


# Where a reported choice comes from: the script's own consent command, or the consent banner a
# bridge reads (TCF and GPP name their CMP by its registered id).
_SOURCE = re.compile(
    r"(?:script|gcm|cookiebot|onetrust|usercentrics|klaro|cookieconsent|(?:tcf|gpp):[0-9]{1,10})"
)
# A CMP's notice or policy version: TCF's policy version, a cookieconsent revision, a date.
_NOTICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._:+/-]{0,31}")
_EXPLICIT = {"1": True, "true": True, "": False, "0": False, "false": False}


@dataclass(frozen=True, slots=True)
class ConsentReport:
    """Who reports a consent command, under which notice, and whether the visitor acted."""

    source: str
    notice: str | None
    explicit: bool


def consent_report_read(*, data: dict[str, str]) -> ConsentReport:
    """The consent command's `source`, `notice` and `explicit`. The script's plain
    mt('consent', ...) sends none of them: it is the visitor's own act, from "script"."""
    source = data.get("source", "script")
    if _SOURCE.fullmatch(source) is None:
        raise BadInput(
            400,
            "invalid_source",
            "source: script, gcm, tcf:<cmpId>, gpp:<cmpId>, cookiebot, onetrust, "
            "usercentrics, klaro or cookieconsent",
        )
    notice = data.get("notice")
    if notice is not None and _NOTICE.fullmatch(notice) is None:
        raise BadInput(
            400, "invalid_notice", "notice: 1 to 32 letters, digits, spaces or . _ : + / -"
        )
    explicit = _EXPLICIT.get(data.get("explicit", "true").lower())
    if explicit is None:
        raise BadInput(400, "invalid_explicit", "explicit: true or false")
    return ConsentReport(source=source, notice=notice, explicit=explicit)
