"""Calling the real ingest handler with API Gateway HTTP API v2.0 events, as Lambda would."""

from __future__ import annotations

import json
from typing import Any

from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.template import load_template
from tests.conftest import Connector, load_event


def ingest_handler() -> Any:
    return load_handler(load_template().functions["IngestFunction"])


def call_ingest(body: Any, *, api_key: str | None, event_file: str = "ingest-seed-path.json") -> tuple[int, Any]:
    event = load_event(event_file)
    event["headers"].pop("x-api-key", None)
    if api_key is not None:
        event["headers"]["x-api-key"] = api_key
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    response = ingest_handler()(event, LocalLambdaContext(function_name="IngestFunction"))
    return response["statusCode"], json.loads(response["body"])


def message(
    message_id: str, sent_at: str, *, direction: str = "inbound", content: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": message_id,
        "direction": direction,
        "type": "text",
        "content": content if content is not None else f"content of {message_id}",
        "sent_at": sent_at,
    } | extra


def batch(connector: Connector, *conversations: dict[str, Any]) -> dict[str, Any]:
    return {
        "platform": connector.platform,
        "connection_id": connector.connection_id,
        "conversations": list(conversations),
    }


def conversation(
    external_id: str, identifier: str, *messages: dict[str, Any], name: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_conversation_id": external_id,
        "participant_identifier": identifier,
        "messages": list(messages),
    }
    if name is not None:
        body["participant_name"] = name
    return body
