"""What a WebSocket client may send: one JSON object per frame, its `action` choosing the route (the API's
RouteSelectionExpression is `$request.body.action`).

    {"action": "subscribe_conversation", "conversation_id": 123}
    {"action": "subscribe_session", "session_uuid": "wses_..."}
    {"action": "unsubscribe", "conversation_id": 123}   or   {"action": "unsubscribe", "session_uuid": "wses_..."}

Other keys are ignored. Anything else is answered with an error frame naming what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from threadline.errors import InvalidRequest
from threadline.models.validation import INVALID_JSON_MESSAGE, json_document

ACTIONS = ("subscribe_session", "subscribe_conversation", "unsubscribe")
MAX_TOPIC_ID_CHARS = 200
_MAX_CONVERSATION_ID = 2**63 - 1


@dataclass(frozen=True)
class TopicAction:
    action: Literal["subscribe", "unsubscribe"]
    topic: Literal["session", "conversation"]
    topic_id: str


def _conversation_id(value: Any) -> str:
    # bool is an int in Python; true is not a conversation.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_CONVERSATION_ID:
        raise InvalidRequest("conversation_id must be a positive integer")
    return str(value)


def _session_uuid(value: Any) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_TOPIC_ID_CHARS
        or any(ord(character) < 32 for character in value)
    ):
        raise InvalidRequest(f"session_uuid must be a session id of 1 to {MAX_TOPIC_ID_CHARS} printable characters")
    return value


def parse_action(body: str | None) -> TopicAction:
    try:
        # The same checks as every HTTP body: a frame nested thousands deep used to raise RecursionError and end
        # the connection; a lone surrogate or NUL in a session id could not be stored or looked up.
        frame = json_document(body or "")
    except InvalidRequest as problem:
        if problem.message == INVALID_JSON_MESSAGE:
            frame = None
        else:
            raise
    if not isinstance(frame, dict):
        raise InvalidRequest('Frames must be JSON objects with an "action"')
    action = frame.get("action")
    if action not in ACTIONS:
        raise InvalidRequest(f"Unknown action {action!r}: use {', '.join(ACTIONS)}")
    if action == "subscribe_conversation":
        return TopicAction("subscribe", "conversation", _conversation_id(frame.get("conversation_id")))
    if action == "subscribe_session":
        return TopicAction("subscribe", "session", _session_uuid(frame.get("session_uuid")))
    has_conversation, has_session = "conversation_id" in frame, "session_uuid" in frame
    if has_conversation == has_session:
        raise InvalidRequest("unsubscribe takes exactly one of conversation_id and session_uuid")
    if has_conversation:
        return TopicAction("unsubscribe", "conversation", _conversation_id(frame["conversation_id"]))
    return TopicAction("unsubscribe", "session", _session_uuid(frame["session_uuid"]))
