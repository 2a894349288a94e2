"""One error shape for the whole API: {"error": code, "detail": text, "fields": {...}}."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import ProtectedError, UniqueConstraint
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler
from rest_framework.views import set_rollback


def _codes(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _codes(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [str(item) for item in detail]
    return [str(detail)]


def _constraint_broken(exc: IntegrityError, sent: set[str]) -> Response:
    """A write the database refused for a constraint the checks before it did not catch (a
    race, or a rule no serializer repeats): the constraint's own sentence, never a 500."""
    set_rollback()
    name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            if constraint.name != name:
                continue
            fields: tuple[str, ...] = getattr(constraint, "fields", ())
            if (
                isinstance(constraint, UniqueConstraint)
                and fields
                and constraint.violation_error_message == constraint.default_violation_error_message
            ):
                # Worded as Django words it in a form: "Field with this Form and Alias …".
                message = model().unique_error_message(model, fields).messages[0]
            else:
                message = constraint.get_violation_error_message()
            return Response(
                {
                    "error": "invalid",
                    "detail": message,
                    # Under the fields the request sent (a form's id comes in the URL).
                    "fields": {field: [message] for field in fields if field in sent}
                    or {"non_field_errors": [message]},
                },
                status=400,
            )
    return Response(
        {
            "error": "conflict",
            "detail": "the change conflicts with a record that exists already",
            "fields": {},
        },
        status=409,
    )


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
    # After ProtectedError, which is one too.
    if isinstance(exc, IntegrityError):
        data = getattr(context.get("request"), "data", None)
        return _constraint_broken(exc, set(data) if isinstance(data, dict) else set())
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
