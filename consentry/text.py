"""The one edge for text: every request is checked here before any view, parser, cache, stream
or database sees what it carries.

Refused, with a 400 that names the field: NUL and the other C0 control characters (TAB, LF and
CR excepted), DEL, and lone UTF-16 surrogates. PostgreSQL rejects NUL in text and surrogates in
JSON, so a value holding one that reached the event stream would fail every drain after it;
in a header or a log line a control character is an injection. Invalid UTF-8 never gets this
far: Django decodes query strings and form bodies with replacement characters, and a JSON
body must be UTF-8 to parse at all. What remains are the characters a decoder cannot see,
spelled as escapes (JSON's \\u0000 and \\ud800) or as percent-encoded bytes (%00).

Checked: the path, the query string, the request headers, and bodies that are form-encoded,
multipart or JSON. The check is cheap on clean input, which is nearly all input: raw bytes are
searched first, and only a request that might hold a refused character is decoded to name the
field.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, JsonResponse

# What may never appear in text the product keeps, shows or forwards.
_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# The same in raw bytes of a query string or form body: a control byte, or its %-escape.
_RAW_SUSPECT = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|%(?:[01][0-9a-fA-F]|7[fF])")
# A JSON body can spell a refused character only as a \u escape (raw control characters are
# invalid JSON, and a decoder rejects them).
_JSON_ESCAPE = b"\\u"
# A header value may hold TAB but no other control character.
_HEADER_REFUSED = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Body types whose fields are checked.
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_JSON_TYPES = ("application/json", "text/plain")


class TextRefused(ValueError):
    """A value holds a character the product never accepts."""

    def __init__(self, field: str, character: str) -> None:
        self.field = field
        self.character = character
        self.spelled = _spell(character)
        super().__init__(f"{field} holds a character that is not allowed ({_spell(character)})")


def _spell(character: str) -> str:
    return f"U+{ord(character):04X}"


def text_check(value: str, *, field: str) -> str:
    """The value itself when it holds no refused character; else TextRefused naming the field."""
    found = _REFUSED.search(value)
    if found is not None:
        raise TextRefused(field, found.group())
    return value


def data_check(data: Any, *, field: str = "") -> Any:
    """Check every key and string of a decoded JSON document; returns it unchanged."""
    for name, value in _strings(data, field):
        text_check(value, field=name)
    return data


def _strings(data: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(data, str):
        yield path or "body", data
    elif isinstance(data, dict):
        for key, value in data.items():
            name = f"{path}.{key}" if path else str(key)
            yield name[:100], str(key)
            yield from _strings(value, name[:100])
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _strings(value, f"{path}[{index}]")


class BodyRefused(Exception):
    """A request body no reader should try: too large to hold, or nested too deep to parse."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def request_check(request: HttpRequest) -> None:
    """Raise TextRefused for the first refused character anywhere in the request, or
    BodyRefused for a body that cannot be read safely."""
    # The product reads UTF-8 only. A charset named in Content-Type would have Django decode
    # the query and form fields with that codec instead, and some codecs spell NUL or a lone
    # surrogate in bytes this edge does not look for (`unicode_escape` reads `\x00`).
    if request.encoding is not None and _codec(request.encoding) != "utf-8":
        request.encoding = "utf-8"
    text_check(request.path_info, field="path")
    for key, value in request.META.items():
        if (key.startswith("HTTP_") or key == "CONTENT_TYPE") and isinstance(value, str):
            found = _HEADER_REFUSED.search(value)
            if found is not None:
                header = key.removeprefix("HTTP_").replace("_", "-").title()
                raise TextRefused(f"header {header}", found.group())
    query = request.META.get("QUERY_STRING", "")
    if query and _RAW_SUSPECT.search(query.encode("latin-1", "replace")):
        for key, value in request.GET.lists():
            text_check(key, field=key[:100])
            for item in value:
                text_check(item, field=key[:100])
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = request.content_type or ""
    if content_type == "multipart/form-data":
        _multipart_check(request)
        return
    length = request.META.get("CONTENT_LENGTH") or "0"
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length.isdigit() and int(length) > limit:
        # Django refuses to hold such a body; a parser reading the stream itself (the API's)
        # would take it unchecked.
        raise BodyRefused(413, "too_large", f"the body must be at most {limit} bytes")
    try:
        body = request.body
    except Exception:  # read already: the view answers for it
        return
    if content_type in _FORM_TYPES or not content_type:
        if _RAW_SUSPECT.search(body):
            _form_check(body)
        return
    # Anything else may be read as JSON (the API's parser takes application/* too). JSON
    # rejects raw control characters but lets DEL through, and spells the rest as escapes.
    if _JSON_ESCAPE in body or b"\x7f" in body or body.count(b"[") + body.count(b"{") > 100:
        try:
            data_check(json.loads(body))
        except RecursionError:
            raise BodyRefused(400, "too_deep", "the body is nested too deeply") from None
        except ValueError as exc:
            if isinstance(exc, TextRefused):
                raise
            return  # not JSON: the view's own parser answers 400


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


def _form_check(body: bytes) -> None:
    try:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    except ValueError:
        return
    for key, value in pairs:
        text_check(key, field=key[:100])
        text_check(value, field=key[:100])


def _multipart_check(request: HttpRequest) -> None:
    try:
        # Held in memory first, so that a view may still read the raw body (Django then parses
        # the fields from that copy). A body over DATA_UPLOAD_MAX_MEMORY_SIZE is an upload:
        # its fields are left to the form that reads them (Django's form fields refuse NUL),
        # and whoever reads it streams it once.
        request.body  # noqa: B018
    except Exception:
        return
    try:
        fields = list(request.POST.lists())
    except Exception:  # malformed multipart: the view answers 400 for it
        return
    for key, values in fields:
        text_check(key, field=key[:100])
        for value in values:
            text_check(value, field=key[:100])


def refused_response(exc: TextRefused) -> JsonResponse:
    """The API's error shape, on every surface."""
    return JsonResponse(
        {
            "error": "invalid_text",
            "detail": str(exc),
            "fields": {
                exc.field: [f"holds a character that is not allowed ({_spell(exc.character)})"]
            },
        },
        status=400,
    )


class TextEdgeMiddleware:
    """Refuses a request that carries a refused character, before any view reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            request_check(request)
        except TextRefused as exc:
            return refused_response(exc)
        except BodyRefused as exc:
            return JsonResponse(
                {"error": exc.code, "detail": exc.detail, "fields": {}}, status=exc.status
            )
        return self.get_response(request)
