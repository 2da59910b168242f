"""What a WebSocket client may send: one JSON object per frame, in either of two spellings.

Threadline's own, whose `action` is also the API's route (RouteSelectionExpression `$request.body.action`):

    {"action": "subscribe_conversation", "conversation_id": 123}
    {"action": "subscribe_session", "session_uuid": "wses_..."}
    {"action": "unsubscribe", "conversation_id": 123}   or   {"action": "unsubscribe", "session_uuid": "wses_..."}
    {"action": "subscribe_inbox"}      {"action": "unsubscribe_inbox"}     (the tenant-wide feed; no id)

The workspace session API's (origin: the workspace-session-message-api seed, whose frontend sends exactly this), in
the camelCase of the frames it receives:

    {"type": "subscribe_session", "sessionId": "wses_..."}          (the session's id or its uuid)
    {"type": "subscribe_conversation", "conversationId": 123}
    {"type": "unsubscribe_session", "sessionId": "wses_..."}
    {"type": "unsubscribe_conversation", "conversationId": 123}
    {"type": "subscribe_inbox"}        {"type": "unsubscribe_inbox"}

A frame without `action` names no route, so API Gateway hands it to $default, which answers it like any other.
`unsubscribe_session`, `unsubscribe_conversation` and `unsubscribe_inbox` are understood with `action` too (they
reach $default; `subscribe_inbox` has its own route), and `unsubscribe` with `type`. Other keys are ignored. Anything else is answered with an error frame naming what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from threadline.errors import InvalidRequest
from threadline.models.validation import INVALID_JSON_MESSAGE, json_document
from threadline.vocabulary import Topic

# The names a frame may carry in `action` (or `type`), and what each does.
ACTIONS: dict[str, tuple[Literal["subscribe", "unsubscribe"], Topic | None]] = {
    "subscribe_session": ("subscribe", "session"),
    "subscribe_conversation": ("subscribe", "conversation"),
    "unsubscribe": ("unsubscribe", None),  # the topic is whichever id the frame carries
    "unsubscribe_session": ("unsubscribe", "session"),
    "unsubscribe_conversation": ("unsubscribe", "conversation"),
    "subscribe_inbox": ("subscribe", "inbox"),
    "unsubscribe_inbox": ("unsubscribe", "inbox"),
}
# The inbox feed is the connection's tenant's: a subscription names nothing else.
INBOX_TOPIC_ID = "tenant"
MAX_TOPIC_ID_CHARS = 200
_MAX_CONVERSATION_ID = 2**63 - 1


@dataclass(frozen=True)
class _Spelling:
    """Where a frame's name and ids are: the key choosing the action, and the key of each topic's id."""

    selector: str
    id_keys: dict[Topic, str]


_OURS = _Spelling("action", {"session": "session_uuid", "conversation": "conversation_id"})
_SEED = _Spelling("type", {"session": "sessionId", "conversation": "conversationId"})


@dataclass(frozen=True)
class TopicAction:
    action: Literal["subscribe", "unsubscribe"]
    topic: Topic
    topic_id: str
    # The name the client used (`subscribe_session`, `unsubscribe`, ...), echoed in an error frame.
    name: str


def _conversation_id(value: Any, key: str) -> str:
    # bool is an int in Python; true is not a conversation.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_CONVERSATION_ID:
        raise InvalidRequest(f"{key} must be a positive integer")
    return str(value)


def _session_ref(value: Any, key: str) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_TOPIC_ID_CHARS
        or any(ord(character) < 32 for character in value)
    ):
        raise InvalidRequest(f"{key} must be a session id of 1 to {MAX_TOPIC_ID_CHARS} printable characters")
    return value


def _topic_id(frame: dict[str, Any], topic: Topic, key: str) -> str:
    if topic == "inbox":
        return INBOX_TOPIC_ID
    value = frame.get(key)
    return _conversation_id(value, key) if topic == "conversation" else _session_ref(value, key)


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
        raise InvalidRequest('Frames must be JSON objects with an "action" (or a "type")')
    spelling = _OURS if "action" in frame else _SEED
    name = frame.get(spelling.selector)
    if not isinstance(name, str) or name not in ACTIONS:
        raise InvalidRequest(f"Unknown {spelling.selector} {name!r}: use {', '.join(ACTIONS)}")
    action, topic = ACTIONS[name]
    if topic is None:
        carried = [each for each, key in spelling.id_keys.items() if key in frame]
        if len(carried) != 1:
            conversation_key, session_key = spelling.id_keys["conversation"], spelling.id_keys["session"]
            raise InvalidRequest(f"{name} takes exactly one of {conversation_key} and {session_key}")
        (topic,) = carried
    return TopicAction(action, topic, _topic_id(frame, topic, spelling.id_keys.get(topic, "")), name)
