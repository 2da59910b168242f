"""Calling the ingest routes through the template's routing (tests/support/routes.py), and building their bodies."""

from __future__ import annotations

from typing import Any

from tests.support.factories import Connector
from tests.support.paths import load_event
from tests.support.routes import call_route


def call_ingest(body: Any, *, api_key: str | None, event_file: str = "ingest-seed-path.json") -> tuple[int, Any]:
    """POST to the ingest path of `event_file`'s sample event (the seed's path by default)."""
    headers = {"x-api-key": api_key} if api_key is not None else {}
    return call_route("POST", load_event(event_file)["rawPath"], body=body, headers=headers)


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
