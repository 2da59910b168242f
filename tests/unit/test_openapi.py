"""api/openapi.yaml: generated from the code, valid OpenAPI 3.1, and describing every route of template.yaml."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator

from devtools.openapi import CatalogueMismatch, build_document, render_yaml
from devtools.template import Route, load_template
from tests.support.paths import REPO_ROOT

COMMITTED = REPO_ROOT / "api" / "openapi.yaml"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def _operation(document: dict[str, Any], route_key: str) -> dict[str, Any]:
    method, path = route_key.split(" ", 1)
    return document["paths"][path][method.lower()]


def _response_schema(document: dict[str, Any], route_key: str, status: int) -> dict[str, Any]:
    response = _operation(document, route_key)["responses"][str(status)]
    # The document's own components travel along, so its #/components/... references resolve.
    return response["content"]["application/json"]["schema"] | {"components": document["components"]}


def _parameter(document: dict[str, Any], route_key: str, name: str) -> dict[str, Any]:
    return next(p for p in _operation(document, route_key)["parameters"] if p["name"] == name)


def test_the_committed_document_is_what_the_code_generates(document):
    assert COMMITTED.exists(), "api/openapi.yaml is missing: run `make openapi`"
    assert COMMITTED.read_text("utf-8") == render_yaml(document), (
        "api/openapi.yaml differs from the routes and models in the code: run `make openapi` and commit it"
    )


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    errors = [error.message for error in OpenAPIV31SpecValidator(yaml.safe_load(COMMITTED.read_text())).iter_errors()]
    assert errors == []


def test_every_template_route_is_described_with_its_errors_and_security(document):
    for route in load_template().routes:
        operation = _operation(document, route.route_key)
        statuses = {int(status) for status in operation["responses"]}
        assert any(200 <= status < 300 for status in statuses), route.route_key
        assert any(400 <= status < 500 for status in statuses), route.route_key
        assert 500 in statuses, route.route_key
        for status, response in operation["responses"].items():
            assert response["description"] and response["content"], (route.route_key, status)
        if route.authorized:
            assert operation["security"] == [{"bearerAuth": []}], route.route_key
            assert 401 in statuses, route.route_key
        elif route.function == "IngestFunction":
            assert operation["security"] == [{"apiKey": []}]
        else:
            assert operation["security"] == [], route.route_key
    assert len({op["operationId"] for path in document["paths"].values() for op in path.values()}) == len(
        load_template().routes
    )


def test_a_route_the_catalogue_does_not_know_fails_the_generation():
    template = load_template()
    unknown = Route(function="SendFunction", method="DELETE", path="/api/messages/{id}", authorized=True)
    with pytest.raises(CatalogueMismatch, match=r"without a catalogue entry.*DELETE /api/messages/\{id\}"):
        build_document(replace(template, routes=[*template.routes, unknown]))


def test_a_catalogue_entry_for_a_route_the_template_lacks_fails_the_generation():
    template = load_template()
    without_ingest = [route for route in template.routes if route.route_key != "POST /v1/ingest"]
    with pytest.raises(CatalogueMismatch, match=re.escape("template.yaml does not have: POST /v1/ingest")):
        build_document(replace(template, routes=without_ingest))


def test_query_limits_and_enums_are_in_the_parameter_schemas(document):
    limit = _parameter(document, "GET /api/v1/conversations", "limit")["schema"]
    assert (limit["type"], limit["minimum"], limit["maximum"], limit["default"]) == ("integer", 1, 100, 20)
    status = _parameter(document, "GET /api/v1/conversations", "status")["schema"]
    # One status or several (`status=open&status=pending` or `status=open,pending`: API Gateway joins them).
    assert status == {
        "type": "array",
        "items": {"enum": ["open", "pending", "snoozed", "resolved"], "type": "string"},
        "minItems": 1,
    }
    assert _parameter(document, "GET /api/v1/conversations", "location_id")["schema"]["format"] == "uuid"
    order = _parameter(document, "GET /api/agent/conversations/{conversation_id}/messages", "order")["schema"]
    assert order["enum"] == ["asc", "desc"] and order["default"] == "asc"
    conversation_id = _parameter(document, "GET /api/v1/conversations/{id}/messages", "id")
    assert conversation_id["required"] and conversation_id["schema"]["minimum"] == 1
    key = _parameter(document, "POST /api/messages/send", "Idempotency-Key")
    assert (key["in"], key["required"], key["schema"]["maxLength"]) == ("header", False, 255)


def test_body_limits_are_in_the_component_schemas(document):
    schemas = document["components"]["schemas"]
    assert schemas["IngestRequest"]["properties"]["conversations"]["maxItems"] == 200
    assert schemas["IngestRequest"]["properties"]["platform"]["enum"] == ["whatsapp", "signal", "telegram", "wechat"]
    assert schemas["SendRequest"]["properties"]["body"]["maxLength"] == 4096
    assert schemas["SendRequest"]["additionalProperties"] is False
    capture = _operation(document, "POST /api/workspace/{workspaceId}/session/{sessionId}/message/user")
    limits = capture["requestBody"]["content"]["application/json"]["schema"]["allOf"][1]
    assert limits["properties"]["message"]["maxLength"] == 100_000


@pytest.mark.parametrize(
    ("route_key", "status", "body"),
    [
        # The seeds' own error bodies, and API Gateway's, against the documented schemas.
        ("POST /functions/v1/messaging-ingest", 401, {"error": "Missing x-api-key header"}),
        ("POST /functions/v1/messaging-ingest", 403, {"error": "Connection is inactive"}),
        (
            "GET /api/agent/conversations/{conversation_id}/messages",
            404,
            {
                "success": False,
                "error": {
                    "code": "NOT_FOUND",
                    "message": "Conversation not found",
                    "details": "No conversation exists with ID 32",
                },
            },
        ),
        ("GET /api/agent/conversations/{conversation_id}/messages", 401, {"message": "Unauthorized"}),
        ("POST /api/messages/send", 401, {"message": "Unauthorized"}),
        ("POST /api/messages/send", 400, {"error": "Session window expired"}),
        (
            "POST /api/messages/send",
            502,
            {"error": "Meta refused the message: Re-engagement message", "code": 131047, "title": "x", "details": None},
        ),
        ("POST /api/workspace/{workspaceId}/session/{sessionId}/message", 404, {"error": "Session not found"}),
    ],
)
def test_known_error_bodies_match_their_documented_schema(document, route_key, status, body):
    jsonschema.validate(body, _response_schema(document, route_key, status))


def test_the_envelopes_are_not_interchangeable(document):
    """An agent route answering the plain envelope (or the reverse) would not match its documentation."""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"error": "Conversation not found"},
            _response_schema(document, "GET /api/agent/conversations/{conversation_id}/messages", 404),
        )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"success": False, "error": {"code": "NOT_FOUND", "message": "m", "details": "d"}},
            _response_schema(document, "GET /api/v1/conversations/{id}", 404),
        )
