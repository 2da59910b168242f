"""Schemathesis against the running local gateway: every operation of the committed api/openapi.yaml, fed examples,
coverage cases and fuzzed (valid and invalid) requests, must answer without a 5xx, with a documented status, a
documented content type and a body that matches the documented schema.

Generated data rarely names anything that exists, so part of the cases are pointed at arranged data (chosen from
the case's own content, so a failing case replays identically): the tenant's own WhatsApp conversation, another
tenant's, a workspace and session by each of their names, the contact to send to, the connector's own
connection_id. The webhook is fuzzed too: half of its cases are signed with the app secret (the rest must be
refused with a 401), and half of the handshakes carry the right verify token. Meta and Bedrock are the local fakes:
nothing leaves the machine.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devtools.auth import issue_token
from devtools.docs import OPENAPI_PATH
from devtools.openapi import alias_route_keys, operation_id
from tests.support.factories import new_tenant
from threadline.meta.client import reset_meta_client
from threadline.meta.webhook import SIGNATURE_HEADER, signature_for

# Fuzzed cases per operation (plus the schema's examples and the coverage phase's boundary cases).
MAX_EXAMPLES = 30
ALIAS_MAX_EXAMPLES = 10
SEED = 20_260_401
APP_SECRET = "schema-test-app-secret"
VERIFY_TOKEN = "schema-test-verify-token"
WEBHOOK_RECEIVE = "POST /v1/webhooks/whatsapp"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass(frozen=True)
class Arranged:
    token: str
    api_key: str
    platform: str
    connection_id: str
    phone_number_id: str
    contact_phone: str
    own_conversation: int
    foreign_conversation: int
    own_message: int  # the own conversation's message
    workspace_refs: tuple[str, str]  # uuid, configId
    session_refs: tuple[str, str]  # wses_ id, uuid


def _ingest(base_url: str, api_key: str, connection_id: str, phone: str) -> int:
    response = requests.post(
        f"{base_url}/v1/ingest",
        headers={"x-api-key": api_key},
        json={
            "platform": "whatsapp",
            "connection_id": connection_id,
            "conversations": [
                {
                    "external_conversation_id": f"chat_{uuid.uuid4().hex[:8]}",
                    "participant_identifier": phone,
                    "participant_name": "Fuzz Contact",
                    "messages": [
                        {
                            "id": "m1",
                            "direction": "inbound",
                            "type": "text",
                            "content": "hello",
                            # Now: the contact's 24-hour window is open, so sends reach (fake) Meta.
                            "sent_at": datetime.now(UTC).isoformat(),
                        }
                    ],
                }
            ],
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return int(response.json()["results"][0]["conversation_id"])


@pytest.fixture
def arranged(gateway, admin, fake_graph, fake_bedrock) -> Arranged:
    from threadline.db.repositories.tenants import insert_user
    from threadline.domain.intake.connections import create_connection

    base_url = gateway.base_url
    tenant = new_tenant(admin, "schema")
    agent = insert_user(admin, tenant_id=tenant, name="Fuzz Agent", email=None)
    phone_number_id = str(uuid.uuid4().int)[:15]
    own = create_connection(admin, tenant_id=tenant, platform="whatsapp", phone_number_id=phone_number_id)
    other_tenant = new_tenant(admin, "schema-other")
    other = create_connection(admin, tenant_id=other_tenant, platform="whatsapp")
    contact_phone = "+1555" + str(uuid.uuid4().int)[:7]
    own_conversation = _ingest(base_url, own.api_secret, own.connection.connection_id, contact_phone)
    foreign_conversation = _ingest(base_url, other.api_secret, other.connection.connection_id, "+15559990000")

    token = issue_token(tenant_id=str(tenant), user_id=str(agent.id))
    auth = {"Authorization": f"Bearer {token}"}
    config_id = f"schema-{uuid.uuid4().hex[:8]}"
    workspace = requests.post(
        f"{base_url}/v1/workspaces", headers=auth, json={"name": "Schema", "configId": config_id}, timeout=30
    )
    assert workspace.status_code == 201, workspace.text
    workspace_id = workspace.json()["workspace"]["id"]
    session = requests.post(f"{base_url}/v1/workspaces/{workspace_id}/sessions", headers=auth, json={}, timeout=30)
    assert session.status_code == 201, session.text
    return Arranged(
        token=token,
        api_key=own.api_secret,
        platform="whatsapp",
        connection_id=own.connection.connection_id,
        phone_number_id=phone_number_id,
        contact_phone=contact_phone,
        own_conversation=own_conversation,
        foreign_conversation=foreign_conversation,
        own_message=admin.execute(
            "SELECT min(id) FROM messages WHERE conversation_id = %s", (own_conversation,)
        ).fetchone()[0],
        workspace_refs=(workspace_id, config_id),
        session_refs=(session.json()["session"]["id"], session.json()["session"]["uuid"]),
    )


@pytest.fixture
def meta_webhook_secrets(fake_graph) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in ("META_APP_SECRET", "META_VERIFY_TOKEN")}
    os.environ.update({"META_APP_SECRET": APP_SECRET, "META_VERIFY_TOKEN": VERIFY_TOKEN})
    reset_meta_client()
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_meta_client()


# Loaded at collection: one test per operation. The gateway's address and the credentials arrive per request.
schema = schemathesis.openapi.from_path(
    OPENAPI_PATH,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            # Methods the document does not list answer API Gateway's 404, which is not an operation's contract.
            "phases": {"coverage": {"unexpected-methods": []}, "stateful": {"enabled": False}},
            # The other spellings of a path reach the same handler code: fewer cases there keep the run short.
            "operations": [
                {
                    "include-operation-id": [operation_id(key) for key in alias_route_keys()],
                    "generation": {"max-examples": ALIAS_MAX_EXAMPLES},
                    "phases": {"coverage": {"enabled": False}},
                }
            ],
        }
    ),
)


def _pick(case: Any, name: str, choices: list[Any]) -> Any:
    """One of `choices` (the generated value first), chosen by the case's content: replays choose the same."""
    fingerprint = json.dumps([case.path_parameters, case.query, case.body], sort_keys=True, default=repr)
    return choices[zlib.crc32(f"{name}:{fingerprint}".encode()) % len(choices)]


def _point_at_arranged_data(case: Any, arranged: Arranged) -> None:
    path_parameters = case.path_parameters or {}
    for name in ("id", "conversation_id"):
        if name in path_parameters:
            path_parameters[name] = _pick(
                case, name, [path_parameters[name], arranged.own_conversation, arranged.foreign_conversation]
            )
    if "message_id" in path_parameters:
        path_parameters["message_id"] = _pick(case, "message", [path_parameters["message_id"], arranged.own_message])
    if "workspaceId" in path_parameters:
        path_parameters["workspaceId"] = _pick(
            case, "workspace", [path_parameters["workspaceId"], *arranged.workspace_refs]
        )
    if "sessionId" in path_parameters:
        path_parameters["sessionId"] = _pick(case, "session", [path_parameters["sessionId"], *arranged.session_refs])
    body = case.body if isinstance(case.body, dict) else None
    operation = _route_key(case)
    if body is not None and "recipient" in body and _pick(case, "recipient", [False, True]):
        body["recipient"] = arranged.contact_phone
    if body is not None and "ingest" in case.path and _pick(case, "connector", [False, True]):
        body.update(platform=arranged.platform, connection_id=arranged.connection_id)
    if operation == "GET /v1/webhooks/whatsapp" and isinstance(case.query, dict) and _pick(case, "verify", [0, 1]):
        case.query.update({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN})
    if operation == WEBHOOK_RECEIVE and body is not None and _pick(case, "ours", [False, True]):
        body["object"] = "whatsapp_business_account"
        for entry in body.get("entry") or []:
            for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
                value = change.get("value") if isinstance(change, dict) else None
                if isinstance(value, dict) and isinstance(value.get("metadata"), dict):
                    value["metadata"]["phone_number_id"] = arranged.phone_number_id


def _route_key(case: Any) -> str:
    return f"{case.method.upper()} {case.path}"


def _signed(case: Any) -> bool:
    return _route_key(case) == WEBHOOK_RECEIVE and bool(_pick(case, "signed", [True, False]))


def _request(case: Any, base_url: str, arranged: Arranged) -> dict[str, Any]:
    """The request as schemathesis would send it, with real credentials (schemathesis still drops them from the
    cases that test a missing one: the gateway's 401) and a JSON body as exact bytes (the webhook signs them)."""
    credentials = {"Authorization": f"Bearer {arranged.token}", "x-api-key": arranged.api_key}
    kwargs = case.as_transport_kwargs(base_url=base_url, headers=credentials)
    if "json" in kwargs:
        kwargs["data"] = json.dumps(kwargs.pop("json")).encode()
        kwargs.setdefault("headers", {}).setdefault("Content-Type", "application/json")
    if _signed(case):
        headers = {
            name: value for name, value in (kwargs.get("headers") or {}).items() if name.lower() != SIGNATURE_HEADER
        }
        kwargs["headers"] = headers | {SIGNATURE_HEADER: signature_for(kwargs.get("data") or b"", APP_SECRET)}
    kwargs.setdefault("timeout", 30)
    return kwargs


@schema.parametrize()
# The arranged data (function-scoped fixtures) is shared by all of an operation's cases on purpose.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_documented(case, gateway, arranged, meta_webhook_secrets):
    _point_at_arranged_data(case, arranged)
    kwargs = _request(case, gateway.base_url, arranged)
    response = requests.request(**kwargs)
    case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)
    if _route_key(case) == WEBHOOK_RECEIVE and not _signed(case):
        # Whatever a notification holds, without Meta's signature it is never read.
        assert response.status_code == 401, response.text


# ---------------------------------------------------------------------------------------------------------------
# Hostile bodies the generators above never produce: every operation that takes a JSON body is also sent a document
# nested 5,000 levels deep, its fields holding a lone surrogate or a NUL, and a body over every route's limit. The
# same checks apply (no 5xx, documented status, content type and schema), and each must be refused as a 400;
# Meta's webhook, signed, must answer without a 5xx (it repairs text rather than lose a delivery).
# ---------------------------------------------------------------------------------------------------------------
HOSTILE_KINDS = ("deep", "surrogate", "nul", "oversize")


def _body_operations() -> list[Any]:
    operations = [result.ok() for result in schema.get_all_operations()]
    return [operation for operation in operations if operation.body]


def _property_names(operation: Any) -> list[str]:
    request_body = schema.raw_schema["paths"][operation.path][operation.method.lower()]["requestBody"]
    definition = request_body["content"]["application/json"]["schema"]
    while "$ref" in definition:
        definition = schema.raw_schema["components"]["schemas"][definition["$ref"].rsplit("/", 1)[-1]]
    return sorted(definition.get("properties") or {"message": {}})


def _hostile_body(kind: str, operation: Any) -> bytes:
    if kind == "deep":
        return ("[" * 5_000 + "]" * 5_000).encode()
    if kind == "oversize":
        return json.dumps({name: "x" for name in _property_names(operation)} | {"padding": "p" * 7_000_000}).encode()
    bad = "a\ud800b" if kind == "surrogate" else "a\u0000b"
    # json.dumps escapes both as JSON writes them ("\ud800", "\u0000"): the bytes a client would send.
    return json.dumps({name: bad for name in _property_names(operation)}).encode()


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
@pytest.mark.parametrize("operation", _body_operations(), ids=lambda operation: operation.label)
def test_hostile_bodies_are_refused_as_documented(gateway, arranged, meta_webhook_secrets, operation, kind):
    path_parameters = {
        "id": arranged.own_conversation,
        "conversation_id": arranged.own_conversation,
        "message_id": arranged.own_message,
        "workspaceId": arranged.workspace_refs[0],
        "sessionId": arranged.session_refs[0],
    }
    case = operation.Case(
        path_parameters={parameter.name: path_parameters[parameter.name] for parameter in operation.path_parameters},
        media_type="application/json",
        body={},
    )
    kwargs = _request(case, gateway.base_url, arranged)
    kwargs["data"] = _hostile_body(kind, operation)
    headers = {name: value for name, value in kwargs["headers"].items() if name.lower() != SIGNATURE_HEADER}
    kwargs["headers"] = headers | {SIGNATURE_HEADER: signature_for(kwargs["data"], APP_SECRET)}
    response = requests.request(**kwargs)
    case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)
    if _route_key(case) != WEBHOOK_RECEIVE:
        assert response.status_code == 400, response.text


@pytest.mark.parametrize("path", ["/v1/ingest", "/api/messages/send", "/v1/workspaces"])
def test_a_body_that_is_not_utf8_is_refused_as_bad_json(gateway, path):
    """Found by the run above: such a body (base64 in the event) made Powertools' decoded_body raise, a 500."""
    headers = {
        "Content-Type": "application/json",
        "x-api-key": "tl_sk_any",
        "Authorization": f"Bearer {issue_token(tenant_id=str(uuid.uuid4()))}",
    }
    answer = requests.post(f"{gateway.base_url}{path}", data=b'{"\xff\xfe": 1}', headers=headers, timeout=10)
    assert (answer.status_code, answer.json()) == (400, {"error": "Request body must be valid JSON"})


# ---------------------------------------------------------------------------------------------------------------
# The same document, with Swagger UI, at /docs: served from the installed package, nothing from a CDN.
# ---------------------------------------------------------------------------------------------------------------
def test_swagger_ui_is_served_offline_at_docs(gateway):
    page = requests.get(f"{gateway.base_url}/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<script src="/docs/swagger-ui-bundle.js"' in page.text and 'url: "/docs/openapi.yaml"' in page.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), "every asset must come from this gateway"
    assert "validatorUrl: null" in page.text
    script = requests.get(f"{gateway.base_url}/docs/swagger-ui-bundle.js", timeout=10)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    assert "SwaggerUIBundle" in script.text
    styles = requests.get(f"{gateway.base_url}/docs/swagger-ui.css", timeout=10)
    assert (styles.status_code, styles.headers["Content-Type"]) == (200, "text/css")


def test_docs_serve_the_committed_document(gateway):
    as_yaml = requests.get(f"{gateway.base_url}/docs/openapi.yaml", timeout=10)
    assert as_yaml.status_code == 200 and as_yaml.headers["Content-Type"].startswith("application/yaml")
    assert as_yaml.text == OPENAPI_PATH.read_text("utf-8")
    as_json = requests.get(f"{gateway.base_url}/docs/openapi.json", timeout=10)
    assert as_json.status_code == 200 and as_json.json() == yaml.safe_load(as_yaml.text)


@pytest.mark.parametrize(
    "path", ["/docs/../template.yaml", "/docs/..%2Ftemplate.yaml", "/docs/%2e%2e/template.yaml", "/docs/nope.js"]
)
def test_docs_serve_nothing_outside_the_swagger_ui_package(gateway, path):
    # http.client sends the path as written (requests would normalise the dots away).
    connection = http.client.HTTPConnection(*gateway.server_address[:2], timeout=10)
    connection.request("GET", path)
    answer = connection.getresponse()
    assert answer.status == 404 and b"AWSTemplateFormatVersion" not in answer.read()
    connection.close()


def test_docs_answer_only_reads(gateway):
    answer = requests.post(f"{gateway.base_url}/docs", timeout=10)
    assert (answer.status_code, answer.json()) == (404, {"message": "Not Found"})
