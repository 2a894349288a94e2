"""One error shape for the whole API: {"error": code, "detail": text, "fields": {...}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import ProtectedError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler


def _codes(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _codes(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [str(item) for item in detail]
    return [str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ProtectedError):
        return Response(
            {
                "error": "protected",
                "detail": "other records still refer to this one "
                "(an email that was sent, a form with submissions)",
                "fields": {},
            },
            status=409,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        fields = _codes(exc.detail) if isinstance(exc.detail, dict) else {}
        body = {"error": "invalid", "detail": "the request has invalid fields", "fields": fields}
        if not fields:
            body["fields"] = {"non_field_errors": _codes(exc.detail)}
    else:
        codes = exc.get_codes()
        body = {
            "error": codes if isinstance(codes, str) else "error",
            "detail": str(exc.detail),
            "fields": {},
        }
    response.data = body
    return response
