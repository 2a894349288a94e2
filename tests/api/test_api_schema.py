"""The OpenAPI schema that documents the API (/api/schema/, read at /api/docs/): it validates,
every operation has a readable id and its resource's tag, no two serializers share a name, and
every operation documents the very serializers its view declares. Then a property-based run of
every operation from the schema: no 5xx, and every answer, its status code and its body, is one
the schema documents."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.plumbing import ComponentRegistry, force_instance, is_serializer
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import OpenApiResponse
from hypothesis import HealthCheck, settings
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from consentry.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


class Recording(SchemaGenerator):
    """The generator, keeping each operation's view: what its schema was made from."""

    def _get_paths_and_endpoints(self) -> Any:
        self.operations = super()._get_paths_and_endpoints()
        return self.operations


@pytest.fixture(scope="module")
def generated() -> Iterator[tuple[dict[str, Any], list[tuple[str, str, Any, Any]]]]:
    """The schema, and for each operation it holds the inspector its view was read by."""
    generator = Recording()
    document = generator.get_schema(request=None, public=True)
    prefix = f"^{spectacular_settings.SCHEMA_PATH_PREFIX}"
    operations = []
    for path, regex, method, view in generator.operations:
        inspector = view.schema  # a new one each time for most views: keep this one
        # Read it as the generator did (this sets the path and method it answers for).
        if inspector.get_operation(path, regex, prefix, method, ComponentRegistry()):
            # The inspector holds its view by a weak reference: keep the view alive with it.
            operations.append((path, method, inspector, view))
    yield document, operations
    del generator  # it keeps the inspectors of views with their own schema alive until here


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_the_schema_validates_without_a_warning(tmp_path):
    GENERATOR_STATS.reset()
    # Fails on any warning: two components of one name, a response it cannot document...
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    assert "title: Consentry API" in (tmp_path / "schema.yml").read_text()


def test_it_is_titled_with_the_release_of_the_server(generated):
    from importlib.metadata import version

    document, _ = generated
    assert document["info"]["title"] == "Consentry API"
    assert document["info"]["version"] == version("consentry") != "1"


def test_every_operation_id_is_unique_and_says_what_the_operation_does(generated):
    document, _ = generated
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for path, method, operation in _operations(document):
        op = operation["operationId"]
        assert re.fullmatch(r"[a-z][a-z0-9_]*", op), op
        assert not op.startswith("v1_"), op
        assert not op.endswith(("_retrieve", "_partial_update", "_destroy")), op
        if method == "get" and _lists(document, operation):
            assert op.endswith("_list"), f"GET {path} answers a list but is called {op}"
    by_id = {
        operation["operationId"]: (method, path)
        for path, method, operation in _operations(document)
    }
    assert by_id["contacts_list"] == ("get", "/api/v1/contacts/")
    assert by_id["contact_create"] == ("post", "/api/v1/contacts/")
    assert by_id["contact_get"] == ("get", "/api/v1/contacts/{contact_id}/")
    assert by_id["contact_update"] == ("patch", "/api/v1/contacts/{contact_id}/")
    assert by_id["contact_delete"] == ("delete", "/api/v1/contacts/{contact_id}/")
    assert by_id["contact_consents_list"] == ("get", "/api/v1/contacts/{contact_id}/consents/")
    assert by_id["email_send"] == ("post", "/api/v1/emails/{email_id}/send/")
    assert by_id["email_render"] == ("post", "/api/v1/emails/{email_id}/render/")
    assert by_id["forms_list"] == ("get", "/api/v1/forms/")
    assert by_id["dead_letters_list"] == ("get", "/api/v1/dead-letters/")


def _lists(document: dict[str, Any], operation: dict[str, Any]) -> bool:
    """Whether the operation answers a list: an array, or a page of results."""
    content = operation["responses"].get("200", {}).get("content", {})
    schema = _resolved(document, content.get("application/json", {}).get("schema", {}))
    return schema.get("type") == "array" or "results" in schema.get("properties", {})


def _resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema or len(schema.get("allOf", ())) == 1:
        if "allOf" in schema:
            schema = schema["allOf"][0]
            continue
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_operation_is_tagged_with_its_resource(generated):
    document, _ = generated
    tags = defaultdict(set)
    for path, _, operation in _operations(document):
        assert len(operation["tags"]) == 1, path
        tags[path.split("/")[3]].update(operation["tags"])
    # One tag per resource, the same for all its operations, and no "v1".
    assert all(len(names) == 1 for names in tags.values()), dict(tags)
    named = {resource: names.pop() for resource, names in tags.items()}
    assert {
        named[r]
        for r in ("contacts", "consent", "emails", "forms", "focus", "stats", "dead-letters")
    } == {"Contacts", "Consent", "Emails", "Forms", "Focus", "Stats", "Dead letters"}
    assert "v1" not in named.values()


def _serializers(declared: Any) -> dict[str, Any]:
    """What an operation's view declares, by status code ("" for the operation's one answer)."""
    if isinstance(declared, dict):
        return {str(c[0] if isinstance(c, tuple) else c): r for c, r in declared.items()}
    return {"": declared}


def _nested(serializer):
    """The serializer, and every serializer it holds in its fields, however deep."""
    found = [serializer]
    for field in (
        serializer.child.fields.values()
        if isinstance(serializer, serializers.ListSerializer)
        else serializer.fields.values()
    ):
        if is_serializer(field):
            found += _nested(field)
    return found


def test_no_two_serializers_share_a_component_name(generated):
    _, operations = generated
    classes = defaultdict(set)
    for _, _, schema, _ in operations:
        for direction, declared in (
            ("request", schema.get_request_serializer()),
            ("response", schema.get_response_serializers()),
        ):
            for answer in _serializers(declared).values():
                if isinstance(answer, OpenApiResponse):
                    answer = answer.response
                if not is_serializer(answer):
                    continue
                for serializer in _nested(force_instance(answer)):
                    if isinstance(serializer, serializers.ListSerializer):
                        serializer = serializer.child
                    name = schema._get_serializer_name(serializer, direction)
                    classes[name].add(
                        f"{type(serializer).__module__}.{type(serializer).__qualname__}"
                    )
    shared = {name: found for name, found in classes.items() if len(found) > 1}
    assert shared == {}


def _fields(serializer: Any, direction: str) -> set[str]:
    hidden = "read_only" if direction == "request" else "write_only"
    return {name for name, field in serializer.fields.items() if not getattr(field, hidden)}


def _properties(schema: dict[str, Any], direction: str) -> set[str]:
    hidden = "readOnly" if direction == "request" else "writeOnly"
    return {name for name, p in schema.get("properties", {}).items() if not p.get(hidden)}


def _documents(
    document: dict[str, Any], schema: dict[str, Any], serializer: Any, direction: str
) -> None:
    """The schema is the serializer's: the same fields, and the same for each one it nests."""
    schema = _resolved(document, schema)
    if isinstance(serializer, serializers.ListSerializer):
        assert schema.get("type") == "array", schema
        _documents(document, schema["items"], serializer.child, direction)
        return
    properties = _properties(schema, direction)
    if (
        properties == {"count", "next", "previous", "results"}
        and "results" not in serializer.fields
    ):
        # A page of the serializer's items, as DRF's pagination answers a list view.
        _documents(document, schema["properties"]["results"]["items"], serializer, direction)
        return
    assert properties == _fields(serializer, direction), type(serializer).__qualname__
    for name, field in serializer.fields.items():
        if is_serializer(field) and name in properties:
            _documents(document, schema["properties"][name], field, direction)


def test_every_operation_documents_the_serializers_its_view_declares(generated):
    document, operations = generated
    checked = 0
    for path, method, schema, _ in operations:
        operation = document["paths"][path][method.lower()]
        where = f"{method} {path}"
        request = schema.get_request_serializer()
        if method in ("POST", "PUT", "PATCH") and is_serializer(request):
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            _documents(document, body, force_instance(request), "request")
            checked += 1
        answers = _serializers(schema.get_response_serializers())
        for code, answer in answers.items():
            if isinstance(answer, OpenApiResponse):
                answer = answer.response
            if not is_serializer(answer):
                continue
            if code == "" and method == "DELETE":
                continue  # documented as 204, no body, whatever serializer the view has
            if code == "":
                # The one success the view declares (the errors are the API's, not the view's).
                (code,) = [c for c in operation["responses"] if c.startswith("2")]
            content = operation["responses"][code]["content"]
            assert "application/json" in content, where
            _documents(
                document, content["application/json"]["schema"], force_instance(answer), "response"
            )
            checked += 1
    assert checked > 50  # most operations were looked at, not skipped


def test_every_operation_documents_the_errors_it_may_answer_in_their_real_shape(
    generated, client, db
):
    document, _ = generated
    error = document["components"]["schemas"]["ApiError"]
    for path, method, operation in _operations(document):
        answers = operation["responses"]
        expected = {"400", "401", "403", "429"}  # any request may be unreadable, or refused
        if "{" in path or "requestBody" in operation:
            expected.add("404")
        assert expected <= set(answers), f"{method} {path}"
        for code in expected:
            assert (
                _resolved(document, answers[code]["content"]["application/json"]["schema"]) == error
            )

    answer = client.get("/api/v1/contacts/")  # not signed in
    assert answer.status_code == 401
    assert set(answer.json()) == set(error["properties"])
    assert answer.json()["error"] == "not_authenticated"


def test_sending_and_rendering_an_email_are_documented_with_their_own_serializers(generated):
    from emails.apis import EmailRenderApi, EmailSendApi

    document, _ = generated
    send = document["paths"]["/api/v1/emails/{email_id}/send/"]["post"]
    render = document["paths"]["/api/v1/emails/{email_id}/render/"]["post"]
    body = _resolved(document, send["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["properties"]) == set(EmailSendApi.SendInput().fields)
    answer = _resolved(
        document, render["responses"]["200"]["content"]["application/json"]["schema"]
    )
    assert set(answer["properties"]) == set(EmailRenderApi.OutputSerializer().fields)


@pytest.fixture
def token(db):
    user = User.objects.create_superuser("schema", "schema@example.com", "pw")
    # Requests go straight into the WSGI application here, not through Django's test client:
    # keep it from closing the test's database connection after each one, as the client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield Token.objects.create(user=user).key
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_operation_answers_5xx_or_breaks_its_schema(case, token, tmp_path):
    from django.test import override_settings

    with override_settings(MEDIA_ROOT=tmp_path, REDIS_URL=None):
        case.call_and_validate(
            headers={"Authorization": f"Token {token}"},
            checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
        )
