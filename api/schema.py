"""How the API describes itself (/api/schema/, /api/docs/): tags, operation ids and component
names derived from each view's path and classes, so that a new operation is documented well
without annotating it.

- Tag: the resource, the first segment of the path (`/api/v1/dead-letters/…` → "Dead letters").
- Operation id: the resource path in the singular before an id, then what the operation does:
  `contacts_list`, `contact_create`, `contact_get`, `contact_update`, `contact_delete`,
  `contact_consents_list`, `email_send`, `email_render`, `stats_get`.
- Summary, unless the view gives one: the operation id in words (`List contact consents`).
- Errors: the answers in the API's one error shape that an operation may give (400, 401, 403
  and 429 always; 404 when it takes an id, a parameter or a body).
- Component: a serializer nested in a view is named after the view, so that the `Input` and
  `Output` of two views stay two components (`EmailRenderApi.InputSerializer` →
  `EmailRenderInput`); a page of items is named after its items (`PaginatedContactOutputList`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance, is_field, is_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

# Display names of the resources whose path segment does not read well capitalised.
TAGS = {
    "dwc": "Dynamic content",
    "focus": "Focus",
    "pages": "Landing pages",
}
_ITEM_VERBS = {"GET": "get", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
_VERBS = {*_ITEM_VERBS.values(), "list", "create"}
_VIEW_SUFFIX = re.compile(r"(Api|APIView|View|ViewSet)$")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")
_PAGE_FIELDS = {"count", "next", "previous", "results"}
_PAGE_PARAMETER = {
    "name": "page",
    "in": "query",
    "required": False,
    "description": "A page number within the paginated result set.",
    "schema": {"type": "integer"},
}


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us")):
        return word[:-1]
    return word


def _joined(outer: str, inner: str) -> str:
    """`EmailSend` + `SendInput` → `EmailSendInput`: a word the two names share is said once."""
    a, b = _WORDS.findall(outer), _WORDS.findall(inner)
    for size in range(min(len(a), len(b)), 0, -1):
        if a[-size:] == b[:size]:
            return "".join(a + b[size:])
    return outer + inner


def _page_items(serializer: Any) -> Any:
    """The item serializer of a page of results (`api.pagination.paginated`), else None."""
    fields = getattr(serializer, "fields", None)
    if not isinstance(fields, Mapping) or set(fields) != _PAGE_FIELDS:
        return None
    results = fields["results"]
    return results.child if isinstance(results, serializers.ListSerializer) else None


class ApiError(serializers.Serializer[Any]):
    """The one shape of every error the API answers (api/errors.py)."""

    error = serializers.CharField(help_text="a code: invalid, not_found, permission_denied...")
    detail = serializers.CharField(help_text="what went wrong, in words")
    fields = serializers.DictField(  # type: ignore[assignment]
        help_text="for invalid input: each field's messages (non_field_errors for the whole)"
    )


class ConsentryAutoSchema(AutoSchema):
    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> Any:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        parameters = operation.setdefault("parameters", [])
        # A view that pages by hand (api.pagination.paginated) takes DRF's page parameter too.
        hand_paged = self.method == "GET" and self._lists() and not self._is_list_view()
        if hand_paged and not any(p["name"] == "page" for p in parameters):
            parameters.append(_PAGE_PARAMETER)
        if not parameters:
            del operation["parameters"]
        # The errors an operation of this shape may answer, so that a client knows them too.
        # Any request may be refused as unreadable (consentry/text.py: characters that are not
        # allowed, in the path as anywhere), and any input may name an object that is not there.
        possible = {
            "400": "Invalid input, or text that cannot be read: `fields` says which and why",
            "401": "Not signed in: no token, or a wrong one",
            "403": "Signed in, without the permission this operation needs",
            "429": "Too many requests for now",
        }
        if parameters or "requestBody" in operation:
            possible["404"] = "No such object (named in the path, a parameter or the body), or page"
        if any(issubclass(p, AllowAny) for p in getattr(self.view, "permission_classes", ())):
            del possible["401"], possible["403"]
        error = self.resolve_serializer(ApiError, "response").ref
        for code, text in sorted(possible.items()):
            operation["responses"].setdefault(
                code, {"description": text, "content": {"application/json": {"schema": error}}}
            )
        return operation

    def _segments(self) -> list[str]:
        path = re.sub(self.path_prefix, "", self.path, count=1, flags=re.IGNORECASE)
        return [part for part in path.split("/") if part]

    def get_tags(self) -> list[str]:
        literal = [part for part in self._segments() if not part.startswith("{")]
        if not literal:
            return super().get_tags()
        resource = literal[0]
        return [TAGS.get(resource, resource.replace("-", " ").replace("_", " ").capitalize())]

    def get_operation_id(self) -> str:
        segments = self._segments()
        words = [
            _singular(part) if following.startswith("{") else part
            for part, following in zip(segments, [*segments[1:], ""], strict=True)
            if not part.startswith("{")
        ]
        if segments and segments[-1].startswith("{"):
            verb = _ITEM_VERBS.get(self.method, self.method.lower())
        elif self.method == "GET":
            verb = "list" if self._lists() else ""
        elif self.method == "POST" and self._creates():
            words[-1:] = [_singular(word) for word in words[-1:]]
            verb = "create"
        elif self.method == "POST":
            verb = ""  # an action named by its path: `emails/{id}/send/` → email_send
        else:
            verb = _ITEM_VERBS.get(self.method, self.method.lower())
        if not verb and len(words) < 2:
            verb = "get" if self.method == "GET" else self.method.lower()
        return re.sub(r"\W+", "_", "_".join([*words, verb] if verb else words))

    def get_summary(self) -> str | None:
        """The heading of an operation that names none: its id in words, verb first."""
        words = self.get_operation_id().split("_")
        if words[-1] in _VERBS:
            words.insert(0, words.pop())
        return " ".join(words).capitalize()

    def _main_response(self) -> Any:
        responses: Any = self.get_response_serializers()  # or a dict by status code
        if isinstance(responses, dict) and responses:
            codes = {
                str(code[0] if isinstance(code, tuple) else code): r
                for code, r in responses.items()
            }
            return codes[min(codes)]
        return responses

    def _lists(self) -> bool:
        if self._is_list_view():
            return True
        response = self._main_response()
        return is_serializer(response) and _page_items(force_instance(response)) is not None  # type: ignore[no-untyped-call]

    def _creates(self) -> bool:
        if self._is_create_operation():
            return True
        responses: Any = self.get_response_serializers()
        return isinstance(responses, dict) and any(
            str(code[0] if isinstance(code, tuple) else code) == "201" for code in responses
        )

    def _get_response_for_code(
        self,
        serializer: Any,
        status_code: str,
        media_types: Any = None,
        direction: Any = "response",
    ) -> Any:
        # A bare field as a response (`{200: serializers.DictField()}`) documents that field's
        # type, as it would inside a serializer, instead of an "unspecified" object and a warning.
        if is_field(serializer):
            field = force_instance(serializer)  # type: ignore[no-untyped-call]
            serializer = self._map_serializer_field(field, direction)  # type: ignore[no-untyped-call]
        return super()._get_response_for_code(serializer, status_code, media_types, direction)  # type: ignore[no-untyped-call]

    def get_serializer_name(self, serializer: serializers.Serializer[Any], direction: Any) -> str:
        items = _page_items(serializer)
        if items is not None:
            return self.get_paginated_name(self._get_serializer_name(items, direction))
        cls = type(serializer)
        outer = cls.__qualname__.rpartition(".")[0]
        if not outer or "<locals>" in outer:
            return cls.__name__
        view = _VIEW_SUFFIX.sub("", outer.rpartition(".")[2])
        return _joined(view, cls.__name__.removesuffix("Serializer"))
