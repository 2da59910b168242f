"""The OpenAPI 3.1 description of the HTTP API, generated from the code: api/openapi.yaml.

Two sources, never a third list of routes:
- template.yaml's HttpApi events (devtools/template.py): which routes exist and which carry the JWT authorizer;
- CATALOGUE below: per route key, the layer's public models (threadline.models) of its path, query, headers and
  body, the statuses it answers and the error envelope it answers them in (threadline/http/errors.py). Route
  metadata only: every shape is the layer's own model, the one the handler parses or answers with.

Handlers validate with their own parsers (the contracts want 400s in the seeds' words, not Powertools' 422), so the
models named here are the very ones those parsers use; JSON Schema comes from pydantic (`mode="validation"` for
what clients send, `mode="serialization"` for what they get back), constraints and enums included.

A template route without a catalogue entry, or an entry for a route the template lacks, fails the generation.

    python -m devtools.openapi           # (make openapi) write api/openapi.yaml
    python -m devtools.openapi --check   # exit 1 when api/openapi.yaml differs from the code

Development only: never shipped in the Lambda layer.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from devtools.docs import OPENAPI_PATH
from devtools.paths import REPO_ROOT
from devtools.template import Route, Template, load_template
from threadline.db.tenancy import UNKNOWN_TENANT_MESSAGE
from threadline.domain.replies.send import MAX_IDEMPOTENCY_KEY_CHARS
from threadline.http.errors import ErrorEnvelope
from threadline.meta.webhook import WhatsAppNotification
from threadline.models.annotations import (
    ConversationLabels,
    LabelList,
    LabelsRequest,
    NoteRequest,
    ReadRequest,
    ReadState,
)
from threadline.models.connector_statuses import StatusReportRequest, StatusReportResponse
from threadline.models.conversations import (
    ConversationChange,
    ConversationDetail,
    ConversationList,
    ConversationListQuery,
    InboxCounts,
    InboxCountsQuery,
)
from threadline.models.errors import INTERNAL_ERROR_MESSAGE, AgentError, Error, GatewayError, UpstreamError
from threadline.models.events import EventsPage, EventsQuery
from threadline.models.ids import MAX_ID
from threadline.models.ingest import IngestRequest, IngestResponse
from threadline.models.messages import (
    AgentMessageQuery,
    AgentMessagesResponse,
    MessageList,
    MessageListQuery,
    MessageReactions,
    MessageView,
    ReactionRequest,
)
from threadline.models.ownership import Agent, AgentList, AvailabilityChange, TeamList
from threadline.models.search import SearchQuery, SearchResults
from threadline.models.sending import ConversationSendRequest, SendRequest, SendResponse
from threadline.models.sessions import (
    MAX_MESSAGE_CHARS,
    CapturedAssistantMessage,
    CapturedUserMessage,
    CaptureRequest,
    CreateSessionRequest,
    CreateWorkspaceRequest,
    ReplyFailed,
    SessionCreated,
    WorkspaceCreated,
)
from threadline.models.templates import TemplateList, TemplateListQuery
from threadline.models.uploads import UploadRequest, UploadResponse
from threadline.models.webhook_subscriptions import (
    Delivery,
    DeliveryList,
    SecretRotated,
    WebhookCreated,
    WebhookCreateRequest,
    WebhookDeleted,
    WebhookList,
)
from threadline.models.whatsapp_notifications import WebhookAcknowledged, WebhookVerification

OPENAPI_VERSION = "3.1.1"
SCHEMA_REF = "#/components/schemas/{model}"


class CatalogueMismatch(Exception):
    """The catalogue and template.yaml disagree about which routes exist."""


# ---------------------------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------------------------
class Auth(Enum):
    JWT = "jwt"  # the HttpApi's JWT authorizer (bearerAuth)
    API_KEY = "api_key"  # the connection's x-api-key, checked by the handler
    SIGNATURE = "signature"  # Meta's verify token or X-Hub-Signature-256, checked by the handler


@dataclass(frozen=True)
class Body:
    """A JSON body documented by a pydantic model (a raw JSON Schema for `text/plain` ones)."""

    description: str
    model: type[BaseModel] | None = None
    media_type: str = "application/json"
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Operation:
    summary: str
    description: str
    tag: str
    envelope: ErrorEnvelope
    responses: Mapping[int, Body]  # the success answers
    errors: Mapping[int, str]  # error status -> when it is answered
    auth: Auth = Auth.JWT
    path: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> schema (with a description)
    query: type[BaseModel] | None = None
    headers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> schema (+ "required")
    body: Body | None = None
    body_required: bool = True
    # Limits a handler checks before its model (e.g. the seed's own message for `message`), merged into the
    # body's properties so the document states them.
    body_limits: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Error statuses whose body is not (only) the envelope: the models it may be instead.
    error_bodies: Mapping[int, tuple[type[BaseModel], ...]] = field(default_factory=dict)
    deprecated: bool = False


CONVERSATION_ID = {
    "type": "integer",
    "format": "int64",
    "minimum": 1,
    "maximum": MAX_ID,
    "description": "Threadline's conversation id (ingest answers it as `conversation_id`)",
}
WORKSPACE_REF = {"type": "string", "minLength": 1, "description": "the workspace's uuid or its configId"}
SESSION_REF = {"type": "string", "minLength": 1, "description": "the session's id (`wses_...`) or its uuid"}
IDEMPOTENCY_KEY = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_IDEMPOTENCY_KEY_CHARS,
    "description": "any unique string per intended send (per tenant): a retry with the same key and body gets the "
    "first answer back instead of sending again",
}

_INGEST = Operation(
    summary="Ingest conversations from a connector",
    description="Connectors push WhatsApp, Signal, Telegram and WeChat conversations in batches "
    "(documented in docs/ingest-api.md; origin: the messaging-ingest-api seed). Messages are deduplicated by `(conversation, id)`; one refused conversation "
    "never loses the others (its result status is `error: <message>`). Limits: body ≤ 6,000,000 bytes, ≤ 200 "
    "conversations and ≤ 1,000 messages per request.",
    tag="Ingest",
    auth=Auth.API_KEY,
    envelope=ErrorEnvelope.PLAIN,
    body=Body("The batch", IngestRequest),
    responses={200: Body("Every conversation's result, in request order", IngestResponse)},
    errors={
        400: "Malformed body: `Missing required fields: platform, connection_id, conversations`, or the field at "
        "fault (e.g. `conversations[0].messages[2].sent_at: must be an ISO 8601 timestamp`); nothing written",
        401: "`Missing x-api-key header`, `Invalid connection_id or platform` or `Invalid API key`",
        403: "`Connection is inactive`",
    },
)

_INGEST_STATUSES = Operation(
    summary="Report the statuses of agents' replies a connector delivered",
    description="A connector that received a `message.outbound` delivery (docs/connector-callbacks.md) reports what "
    "became of the reply on its platform: `sent`, `delivered`, `read` or `failed` (with `error: {code, title}`). "
    "A status names its message by Threadline's `message_id` or the platform's `external_id` "
    "(`external_conversation_id` narrows an id that platforms number per chat); both together record the "
    "platform's id on the reply. Statuses only move forward (sent < delivered < read < failed, as Meta's); each "
    "result is `updated`, `unchanged`, `not_found` or `error: <why>`. Authenticated as ingest is. At most 1,000 "
    "statuses per request.",
    tag="Ingest",
    auth=Auth.API_KEY,
    envelope=ErrorEnvelope.PLAIN,
    body=Body("The statuses", StatusReportRequest),
    responses={200: Body("Every status's result, in request order", StatusReportResponse)},
    errors={
        400: "Malformed body: `Missing required fields: platform, connection_id, statuses`, or the field at fault "
        "(e.g. `statuses[0].occurred_at: must be an ISO 8601 timestamp`); nothing written",
        401: "`Missing x-api-key header`, `Invalid connection_id or platform` or `Invalid API key`",
        403: "`Connection is inactive`",
    },
)

_WEBHOOK_VERIFY = Operation(
    summary="WhatsApp webhook subscription handshake",
    description="Meta calls this once when the webhook is configured; the challenge is echoed when "
    "`hub.verify_token` is the app's verify token.",
    tag="WhatsApp webhook",
    auth=Auth.SIGNATURE,
    envelope=ErrorEnvelope.PLAIN,
    query=WebhookVerification,
    responses={200: Body("`hub.challenge`, echoed", media_type="text/plain", schema={"type": "string"})},
    errors={403: "`Verification failed`: wrong mode or verify token, or no challenge"},
)

_WEBHOOK_RECEIVE = Operation(
    summary="WhatsApp webhook notifications (messages and statuses)",
    description="Meta's notifications of inbound messages and of sent messages' statuses, authenticated by "
    "`X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the app secret). A verified notification is always "
    "answered 200: what Threadline cannot place (numbers without an active connection, shapes it does not model, "
    "messages without a sender it can resolve) is kept as a dead letter with the reason.",
    tag="WhatsApp webhook",
    auth=Auth.SIGNATURE,
    envelope=ErrorEnvelope.PLAIN,
    headers={
        "X-Hub-Signature-256": {
            "type": "string",
            "pattern": "^sha256=[0-9a-fA-F]{64}$",
            "description": "`sha256=` and the hex HMAC-SHA256 of the raw body keyed with the app secret",
            "required": True,
        }
    },
    body=Body("Meta's notification", WhatsAppNotification),
    responses={200: Body("Stored (or acknowledged)", WebhookAcknowledged)},
    errors={
        400: "`Request body is not valid base64`: API Gateway's encoding of the body is broken (a verified "
        "notification is always 200: what cannot be placed is kept as a dead letter)",
        401: "`Missing X-Hub-Signature-256 header` or `Invalid signature`",
        413: "`Request body too large: at most 6000000 bytes (Lambda's request payload limit)`, checked before "
        "the signature; in AWS, Lambda refuses such a body before the function runs",
        500: "Also when the app secret is not configured (Meta retries later)",
    },
)

_LIST_CONVERSATIONS = Operation(
    summary="List the tenant's conversations",
    description="Newest activity first, oldest waiting first (`sort=waiting_since`) or by priority "
    "(`sort=priority`); narrowed by assignee, team, status, label and priority. Page with `offset` (up to "
    "1,000,000) or, at any depth, with `cursor` (the previous page's `next_cursor`, with the same filters and "
    "sort); not both.",
    tag="Conversations",
    envelope=ErrorEnvelope.PLAIN,
    query=ConversationListQuery,
    responses={200: Body("A page of conversations", ConversationList)},
    errors={
        400: "A malformed query parameter, named in the message",
        403: "`assignee=me` with a token that names no agent of the tenant",
    },
)

_INBOX_COUNTS = Operation(
    summary="The inbox counts: mine, unassigned and all (and per team)",
    description="Exact, and as cheap at 100,000 conversations as at 10: kept by the writes, never counted per "
    "call. `status` defaults to `open`; `teams=true` adds every team's counts.",
    tag="Conversations",
    envelope=ErrorEnvelope.PLAIN,
    query=InboxCountsQuery,
    responses={200: Body("The counts", InboxCounts)},
    errors={400: "A malformed query parameter, named in the message"},
)

_SEARCH = Operation(
    summary="Search messages, contacts or conversations",
    description="Messages by their words (each also as a prefix; case and accents folded; private notes "
    "included and marked), contacts by any part of the name, username or phone digits, conversations by their "
    "messages; ranked, with a cursor. Ranks the newest 200 matching messages (2,000 contacts).",
    tag="Conversations",
    envelope=ErrorEnvelope.PLAIN,
    query=SearchQuery,
    responses={200: Body("Ranked results", SearchResults)},
    errors={400: "A malformed query parameter (e.g. `q`), named in the message"},
)

_LIST_TEMPLATES = Operation(
    summary="The account's WhatsApp message templates",
    description="Synced from each connection's WhatsApp Business Account (every page of Meta's template list, by "
    "`threadline templates sync` and the scheduled run) and kept current by Meta's template webhooks. Each "
    "template carries the parameters a send must give; a template send is checked against them.",
    tag="Templates",
    envelope=ErrorEnvelope.PLAIN,
    query=TemplateListQuery,
    responses={200: Body("The templates, by name and language", TemplateList)},
    errors={400: "A malformed query parameter, or a connection_id that is no connection of the tenant"},
)

_GET_CONVERSATION = Operation(
    summary="One conversation with its contact and channel",
    description="Another tenant's conversation is not found.",
    tag="Conversations",
    envelope=ErrorEnvelope.PLAIN,
    path={"id": CONVERSATION_ID},
    responses={200: Body("The conversation", ConversationDetail)},
    errors={400: "`conversation id must be a positive integer`", 404: "`Conversation not found`"},
)

_LIST_MESSAGES = Operation(
    summary="A conversation's messages, newest first",
    description="Page to older messages with `before` (the previous page's `next_cursor`).",
    tag="Messages",
    envelope=ErrorEnvelope.PLAIN,
    path={"id": CONVERSATION_ID},
    query=MessageListQuery,
    responses={200: Body("A page of messages", MessageList)},
    errors={400: "A malformed id or query parameter", 404: "`Conversation not found`"},
)

_AGENT_MESSAGES = Operation(
    summary="A conversation's messages for the agent dashboard",
    description="Numbered pages in either order (docs/agent-messages-api.md; origin: the agent-conversation-messages-api "
    "seed), with author objects "
    "and initials, in the dashboard's `{success, data}` envelope and its own error envelope.",
    tag="Messages",
    envelope=ErrorEnvelope.AGENT,
    path={"conversation_id": CONVERSATION_ID},
    query=AgentMessageQuery,
    responses={200: Body("A page of messages", AgentMessagesResponse)},
    errors={
        400: "`Invalid request parameters`; `details` names the parameter (e.g. `Limit must be between 1 and 100`)",
        401: "`Authentication required` (a token without a valid tenant claim)",
        404: "`Conversation not found`",
        500: "`Failed to retrieve messages` (the database failed), or `Internal server error`",
    },
)

_SEND_ERRORS = {
    502: "Meta refused the message (`code`, `title`, `details`), could not be reached, or did not confirm it "
    "(`message_id`: it may still be delivered, do not resend)",
    400: "Bad input (the field at fault), `Session window expired` (the contact's 24-hour window is closed: "
    "Meta is not called), no WhatsApp number to send from, or a malformed Idempotency-Key",
    404: "`Contact not found`",
    409: "A request with this Idempotency-Key is still in progress (or its first attempt never finished)",
    422: "This Idempotency-Key was already used for a different request",
}

_SEND = Operation(
    summary="Send a WhatsApp text to a contact",
    description="Documented in docs/send-message-api.md (origin: the send-message-api seed). The contact is matched by phone number as ingest matches it. The "
    "message is recorded `pending` before Meta is called and completed after; `warning` is set when Meta accepted "
    "it but the record could not be updated yet (it was sent: do not resend).",
    tag="Send",
    envelope=ErrorEnvelope.PLAIN,
    headers={"Idempotency-Key": IDEMPOTENCY_KEY},
    body=Body("The recipient's phone number and the text", SendRequest),
    responses={200: Body("Sent", SendResponse)},
    errors=_SEND_ERRORS,
    error_bodies={502: (UpstreamError,)},
)

_SEND_TO_CONVERSATION = Operation(
    summary="Send into a conversation (text, media or template)",
    description="Through the conversation's own WhatsApp number. One of `content`, `media` (with `content` or "
    "`caption` as its caption) or `template`; templates may be sent outside the 24-hour window.",
    tag="Send",
    envelope=ErrorEnvelope.PLAIN,
    path={"id": CONVERSATION_ID},
    headers={"Idempotency-Key": IDEMPOTENCY_KEY},
    body=Body("What to send", ConversationSendRequest),
    responses={201: Body("Sent", SendResponse)},
    error_bodies={502: (UpstreamError,)},
    errors=_SEND_ERRORS
    | {
        400: _SEND_ERRORS[400] + "; a conversation on a platform Threadline cannot send on yet, or whose connection "
        "is inactive; `reply_to` naming no message of the conversation",
        403: "`Forbidden`: the conversation belongs to another tenant",
        404: "`Conversation not found`",
    },
)

_UPLOAD = Operation(
    summary="Upload a file to send: a presigned S3 POST",
    description="Documented in docs/media.md. Declares the file (name, MIME type, size); the answer's form uploads it "
    "straight to the private media bucket (its policy pins the key and type and bounds the size to the WhatsApp "
    "medium's limit: images 5 MB, audio and video 16 MB, documents 100 MB). Send it with "
    "`{media: {upload_id, caption?}}` within 24 hours.",
    tag="Send",
    envelope=ErrorEnvelope.PLAIN,
    body=Body("The file to upload", UploadRequest),
    responses={201: Body("The upload form", UploadResponse)},
    errors={400: "the field at fault: a type WhatsApp does not take, or a size over the medium's limit"},
)

MESSAGE_ID = {
    "type": "integer",
    "format": "int64",
    "minimum": 1,
    "maximum": MAX_ID,
    "description": "Threadline's message id (the message views' `id`)",
}

_PUT_REACTION = Operation(
    summary="React to a message (or take the reaction away)",
    description="The business's reaction on a message of the conversation, sent through Meta (WhatsApp keeps one "
    "reaction per sender: a new one replaces the business's, `\"\"` removes it), inside the conversation's reply "
    "window. Recorded once Meta accepted it: both message views show it in `reactions`, the event log gets "
    "`message.reactions_changed` and subscribers a `message_reactions` frame.",
    tag="Send",
    envelope=ErrorEnvelope.PLAIN,
    path={"id": CONVERSATION_ID, "message_id": MESSAGE_ID},
    body=Body("The emoji", ReactionRequest),
    responses={200: Body("The message's reactions now", MessageReactions)},
    error_bodies={502: (UpstreamError,)},
    errors={
        400: 'Bad input (`emoji: must be one emoji, or "" to remove the reaction`), `Session window expired`, '
        "`Reactions can only be sent on WhatsApp conversations`, a private note or system message, a message "
        "without a WhatsApp id yet, an inactive connection",
        403: "`Forbidden`: the conversation belongs to another tenant",
        404: "`Conversation not found`, `Message not found` (also a message of another conversation)",
        502: "Meta refused the reaction (`code`, `title`, `details`), could not be reached, or did not confirm it",
    },
)

_CAPTURE_BODY_LIMITS = {"message": {"minLength": 1, "maxLength": MAX_MESSAGE_CHARS}}
_CAPTURE_ERRORS = {
    400: "`Message is required and must be a string`, or the field at fault",
    404: "`Session not found or message could not be saved`",
}
_CAPTURE_ASSISTANT = Operation(
    summary="Capture an assistant message into a session",
    description="Documented in docs/session-messages-api.md (origin: the workspace-session-message-api seed). "
    "Broadcast to the session's WebSocket subscribers. "
    "`process` is ignored here; `null` for an optional field means its default.",
    tag="Workspace sessions",
    envelope=ErrorEnvelope.PLAIN,
    path={"workspaceId": WORKSPACE_REF, "sessionId": SESSION_REF},
    body=Body("The message", CaptureRequest),
    body_limits=_CAPTURE_BODY_LIMITS,
    responses={200: Body("Stored", CapturedAssistantMessage)},
    errors=_CAPTURE_ERRORS,
)

_CAPTURE_USER = Operation(
    summary="Capture a user message, optionally with the language model's reply",
    description="With `process: true` the reply is generated (threaded by `claudeSessionId`) and stored as the "
    "assistant message. When that fails the user message stays stored and the answer is a 500 with "
    "`processingError`. `null` for an optional field means its default.",
    tag="Workspace sessions",
    envelope=ErrorEnvelope.PLAIN,
    path={"workspaceId": WORKSPACE_REF, "sessionId": SESSION_REF},
    body=Body("The message", CaptureRequest),
    body_limits=_CAPTURE_BODY_LIMITS,
    responses={200: Body("Stored (with the reply when asked for)", CapturedUserMessage)},
    errors=_CAPTURE_ERRORS
    | {
        500: f"With process=true and no reply: `processingError` (the user message is stored); else `{INTERNAL_ERROR_MESSAGE}`"
    },
    error_bodies={500: (ReplyFailed, Error)},
)

_CREATE_WORKSPACE = Operation(
    summary="Create a workspace",
    description="Sessions live in workspaces; a workspace can be named in URLs by its uuid or its `configId`.",
    tag="Workspace sessions",
    envelope=ErrorEnvelope.PLAIN,
    body=Body("The workspace", CreateWorkspaceRequest),
    responses={201: Body("Created", WorkspaceCreated)},
    errors={400: "A malformed field, named in the message", 409: "A workspace with this configId already exists"},
)

_CREATE_SESSION = Operation(
    summary="Create a chat session in a workspace",
    description="The body is optional.",
    tag="Workspace sessions",
    envelope=ErrorEnvelope.PLAIN,
    path={"workspaceId": WORKSPACE_REF},
    body=Body("The session", CreateSessionRequest),
    body_required=False,
    responses={201: Body("Created", SessionCreated)},
    errors={400: "A malformed field, named in the message", 404: "`Workspace not found`"},
)

_CHANGE_CONVERSATION = Operation(
    summary="Change a conversation: status, snooze, assignee, team, priority",
    description="Any of the fields; absent ones stay as they are, null clears. Answers the conversation as GET "
    'answers it, with its `ETag` (`W/"<version>"`). With `If-Match`, the change is made only if the '
    "conversation is still at that version (412 otherwise, nothing changed). Every change writes an activity "
    "message into the conversation (never sent to the customer) and is pushed to WebSocket subscribers.",
    tag="Inbox",
    envelope=ErrorEnvelope.PLAIN,
    path={"id": CONVERSATION_ID},
    headers={
        "If-Match": {
            "type": "string",
            "maxLength": 100,
            "description": 'the ETag of the conversation as last read (`W/"3"`); `*` or absent: no precondition',
        }
    },
    body=Body("The change", ConversationChange),
    responses={200: Body("The conversation after the change", ConversationDetail)},
    errors={
        400: "Bad input, naming the field (e.g. `snoozed_until: must be in the future`, `assignee_id: must be an "
        "agent of this tenant`); nothing changed",
        404: "`Conversation not found` (also another tenant's)",
        412: "The conversation changed since the If-Match's version; nothing changed",
    },
)

_LIST_AGENTS = Operation(
    summary="The tenant's agents, their availability and load",
    description="`open_conversations` counts the open and pending conversations assigned to each agent (the load "
    "auto-assignment's cap counts).",
    tag="Inbox",
    envelope=ErrorEnvelope.PLAIN,
    responses={200: Body("Every agent of the tenant", AgentList)},
    errors={},
)

_CHANGE_MY_AVAILABILITY = Operation(
    summary="Set the calling agent's availability",
    description="`online` agents take auto-assigned conversations; coming online hands out the waiting queue.",
    tag="Inbox",
    envelope=ErrorEnvelope.PLAIN,
    body=Body("The availability", AvailabilityChange),
    responses={200: Body("The agent after the change", Agent)},
    errors={
        400: "`availability: must be one of ...`",
        403: "The token names no agent of the tenant (its `sub` is not a user), so it cannot act as me",
    },
)

_LIST_TEAMS = Operation(
    summary="The tenant's teams, with members and auto-assignment settings",
    description="Teams are created and configured with the admin CLI (`threadline team ...`).",
    tag="Inbox",
    envelope=ErrorEnvelope.PLAIN,
    responses={200: Body("Every team of the tenant", TeamList)},
    errors={},
)

_AGENT_ONLY = "the token's `sub` is no user of the tenant (a service token): these routes need an agent's own token"

_PUT_LABELS = Operation(
    summary="Replace a conversation's labels",
    description="The whole set: labels are the tenant's, matched case-insensitively (a new one keeps its first "
    "spelling), repeats collapse, at most 20 per conversation. A change moves the conversation's `version`, writes "
    "an activity message and pushes `conversation_updated` (`changes.labels`); the same set again changes nothing.",
    tag="Conversations",
    envelope=ErrorEnvelope.PLAIN,
    path={"id": CONVERSATION_ID},
    body=Body("The labels", LabelsRequest),
    responses={200: Body("The conversation's labels", ConversationLabels)},
    errors={400: "A malformed id or label, named in the message", 403: _AGENT_ONLY, 404: "`Conversation not found`"},
)

_LIST_LABELS = Operation(
    summary="The tenant's labels with their conversation counts",
    description="Counts are kept by the writes (no count per call). A label no conversation carries stays, with 0.",
    tag="Conversations",
    envelope=ErrorEnvelope.PLAIN,
    responses={200: Body("Every label", LabelList)},
    errors={403: _AGENT_ONLY},
)

_LIST_EVENTS = Operation(
    summary="Catch up on the tenant's event log",
    description="Events after `after`, in seq order (monotonic and gap-free per tenant), with `next_after` to read "
    "on; a page shorter than `limit` means caught up. Every WebSocket frame carries its event's `seq`: after a "
    "reconnect, ask for `after=<last seq seen>`. Kept at least 7 days; an `after` older than that is 410 (reload). "
    "Each type's `data`: docs/events.md.",
    tag="Events",
    envelope=ErrorEnvelope.PLAIN,
    query=EventsQuery,
    responses={200: Body("A page of events", EventsPage)},
    errors={400: "A malformed parameter, named in the message", 410: "`after` is older than the log keeps: reload"},
)

_WEBHOOK_ID = {"type": "string", "format": "uuid", "description": "the webhook's id"}
_DELIVERY_ID = {"type": "string", "format": "uuid", "description": "the delivery's id (its Threadline-Delivery)"}
_WEBHOOK_ERRORS = {400: "A malformed id, named in the message", 404: "`Webhook not found`"}

_CREATE_WEBHOOK = Operation(
    summary="Subscribe a URL to event types",
    description="Deliveries are signed POSTs of `{id, event, seq, occurred_at, tenant_id, data}` with "
    "Threadline-Event, Threadline-Delivery and Threadline-Signature headers (docs/webhooks.md), at least once, "
    "retried for 24 hours. The URL must be https on a public address. The secret is shown only in this answer.",
    tag="Webhooks",
    envelope=ErrorEnvelope.PLAIN,
    body=Body("The subscription", WebhookCreateRequest),
    responses={201: Body("The subscription and its signing secret", WebhookCreated)},
    errors={400: "A malformed field or a refused URL (http, private or metadata address), named in the message"},
)

_LIST_WEBHOOKS = Operation(
    summary="The tenant's webhook subscriptions",
    description="Secrets are never shown again; `is_active` is false once a receiver answered 410.",
    tag="Webhooks",
    envelope=ErrorEnvelope.PLAIN,
    responses={200: Body("Every subscription", WebhookList)},
    errors={},
)

_DELETE_WEBHOOK = Operation(
    summary="Remove a webhook subscription",
    description="Its pending deliveries go with it.",
    tag="Webhooks",
    envelope=ErrorEnvelope.PLAIN,
    path={"id": _WEBHOOK_ID},
    responses={200: Body("Removed", WebhookDeleted)},
    errors=_WEBHOOK_ERRORS,
)

_ROTATE_WEBHOOK_SECRET = Operation(
    summary="Rotate a webhook's signing secret",
    description="The new secret signs from now on; the previous one signs beside it (a second `v1=`) for 24 hours.",
    tag="Webhooks",
    envelope=ErrorEnvelope.PLAIN,
    path={"id": _WEBHOOK_ID},
    body_required=False,
    responses={200: Body("The new secret, shown only now", SecretRotated)},
    errors=_WEBHOOK_ERRORS,
)

_LIST_WEBHOOK_DELIVERIES = Operation(
    summary="A webhook's deliveries",
    description="Newest first: status (pending, delivered, dead), attempts, the last answer, the next attempt.",
    tag="Webhooks",
    envelope=ErrorEnvelope.PLAIN,
    path={"id": _WEBHOOK_ID},
    responses={200: Body("The last 100 deliveries", DeliveryList)},
    errors=_WEBHOOK_ERRORS,
)

_REDELIVER = Operation(
    summary="Deliver again",
    description="Pending again and due now, with a fresh 24 hours of retries, under the same Threadline-Delivery id.",
    tag="Webhooks",
    envelope=ErrorEnvelope.PLAIN,
    path={"id": _WEBHOOK_ID, "delivery_id": _DELIVERY_ID},
    body_required=False,
    responses={202: Body("The delivery, pending", Delivery)},
    errors={
        400: "A malformed id, or the webhook is disabled",
        404: "`Webhook not found` or `Delivery not found`",
    },
)

_WRITE_NOTE = Operation(
    summary="Write a private note",
    description="A message for other agents (`private: true`): shown in both message views, pushed to the "
    "conversation's subscribers, never sent to any channel, never unread for its author, and never the "
    "conversation's `last_message_*`.",
    tag="Conversations",
    envelope=ErrorEnvelope.PLAIN,
    path={"id": CONVERSATION_ID},
    body=Body("The note", NoteRequest),
    responses={201: Body("The note", MessageView)},
    errors={400: "A malformed id or `content`", 403: _AGENT_ONLY, 404: "`Conversation not found`"},
)

_MARK_READ = Operation(
    summary="Mark a conversation read for the calling agent",
    description="Moves the caller's own read horizon forward (never backwards) to `up_to_message_id`, by default "
    "the newest message; `unread_count` everywhere is the caller's. For WhatsApp conversations of a tenant whose "
    "`read_receipts` is `on_read`, the newest inbound message newly covered is marked read at Meta; a failure "
    "there never fails this request.",
    tag="Conversations",
    envelope=ErrorEnvelope.PLAIN,
    path={"id": CONVERSATION_ID},
    body=Body("How far (optional)", ReadRequest),
    body_required=False,
    responses={200: Body("The caller's read state", ReadState)},
    errors={
        400: "A malformed id, or `up_to_message_id` naming no message of the conversation",
        403: _AGENT_ONLY,
        404: "`Conversation not found`",
    },
)

# Every HttpApi route of template.yaml, by route key; aliases share their operation.
CATALOGUE: dict[str, Operation] = {
    "POST /functions/v1/messaging-ingest": _INGEST,
    "POST /v1/ingest": _INGEST,
    "POST /functions/v1/messaging-ingest/statuses": _INGEST_STATUSES,
    "POST /v1/ingest/statuses": _INGEST_STATUSES,
    "GET /v1/webhooks/whatsapp": _WEBHOOK_VERIFY,
    "POST /v1/webhooks/whatsapp": _WEBHOOK_RECEIVE,
    "GET /api/v1/conversations": _LIST_CONVERSATIONS,
    "GET /v1/conversations": _LIST_CONVERSATIONS,
    "GET /api/v1/conversations/counts": _INBOX_COUNTS,
    "GET /v1/conversations/counts": _INBOX_COUNTS,
    "GET /api/v1/search": _SEARCH,
    "GET /v1/search": _SEARCH,
    "GET /api/v1/templates": _LIST_TEMPLATES,
    "GET /v1/templates": _LIST_TEMPLATES,
    "GET /api/v1/conversations/{id}": _GET_CONVERSATION,
    "GET /v1/conversations/{id}": _GET_CONVERSATION,
    "PATCH /api/v1/conversations/{id}": _CHANGE_CONVERSATION,
    "PATCH /v1/conversations/{id}": _CHANGE_CONVERSATION,
    "GET /api/v1/agents": _LIST_AGENTS,
    "GET /v1/agents": _LIST_AGENTS,
    "PUT /api/v1/agents/me/availability": _CHANGE_MY_AVAILABILITY,
    "PUT /v1/agents/me/availability": _CHANGE_MY_AVAILABILITY,
    "GET /api/v1/teams": _LIST_TEAMS,
    "GET /v1/teams": _LIST_TEAMS,
    "GET /api/v1/conversations/{id}/messages": _LIST_MESSAGES,
    "GET /v1/conversations/{id}/messages": _LIST_MESSAGES,
    "GET /api/agent/conversations/{conversation_id}/messages": _AGENT_MESSAGES,
    "POST /api/messages/send": _SEND,
    "POST /v1/messages/send": _SEND,
    "POST /api/v1/uploads": _UPLOAD,
    "POST /v1/uploads": _UPLOAD,
    "POST /api/v1/conversations/{id}/messages": _SEND_TO_CONVERSATION,
    "POST /v1/conversations/{id}/messages": _SEND_TO_CONVERSATION,
    "PUT /api/v1/conversations/{id}/messages/{message_id}/reaction": _PUT_REACTION,
    "PUT /v1/conversations/{id}/messages/{message_id}/reaction": _PUT_REACTION,
    "POST /api/workspace/{workspaceId}/session/{sessionId}/message/assistant": _CAPTURE_ASSISTANT,
    "POST /api/workspace/{workspaceId}/session/{sessionId}/message/user": _CAPTURE_USER,
    "POST /api/workspace/{workspaceId}/session/{sessionId}/message": replace(
        _CAPTURE_ASSISTANT,
        summary="Capture an assistant message (deprecated path)",
        description="Deprecated: behaves exactly as `.../message/assistant`.",
        deprecated=True,
    ),
    "PUT /api/v1/conversations/{id}/labels": _PUT_LABELS,
    "PUT /v1/conversations/{id}/labels": _PUT_LABELS,
    "POST /api/v1/webhooks": _CREATE_WEBHOOK,
    "POST /v1/webhooks": _CREATE_WEBHOOK,
    "GET /api/v1/webhooks": _LIST_WEBHOOKS,
    "GET /v1/webhooks": _LIST_WEBHOOKS,
    "DELETE /api/v1/webhooks/{id}": _DELETE_WEBHOOK,
    "DELETE /v1/webhooks/{id}": _DELETE_WEBHOOK,
    "POST /api/v1/webhooks/{id}/rotate-secret": _ROTATE_WEBHOOK_SECRET,
    "POST /v1/webhooks/{id}/rotate-secret": _ROTATE_WEBHOOK_SECRET,
    "GET /api/v1/webhooks/{id}/deliveries": _LIST_WEBHOOK_DELIVERIES,
    "GET /v1/webhooks/{id}/deliveries": _LIST_WEBHOOK_DELIVERIES,
    "POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver": _REDELIVER,
    "POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver": _REDELIVER,
    "GET /api/v1/events": _LIST_EVENTS,
    "GET /v1/events": _LIST_EVENTS,
    "GET /api/v1/labels": _LIST_LABELS,
    "GET /v1/labels": _LIST_LABELS,
    "POST /api/v1/conversations/{id}/notes": _WRITE_NOTE,
    "POST /v1/conversations/{id}/notes": _WRITE_NOTE,
    "POST /api/v1/conversations/{id}/read": _MARK_READ,
    "POST /v1/conversations/{id}/read": _MARK_READ,
    "POST /v1/workspaces": _CREATE_WORKSPACE,
    "POST /v1/workspaces/{workspaceId}/sessions": _CREATE_SESSION,
}

TAGS = {
    "Ingest": "Connectors push conversations (per-connection API key)",
    "Conversations": "The tenant's conversations (agents, bearer JWT)",
    "Messages": "A conversation's messages (agents, bearer JWT)",
    "Send": "WhatsApp sends through Meta's Cloud API (agents, bearer JWT)",
    "Templates": "The account's WhatsApp message templates (agents, bearer JWT)",
    "Workspace sessions": "Chat sessions, with optional language model replies (agents, bearer JWT)",
    "WhatsApp webhook": "Meta's webhook (its own verify token and signature)",
}

DESCRIPTION = """\
Threadline's HTTP API: connectors push WhatsApp, Signal, Telegram and WeChat conversations in; agents read them,
reply on WhatsApp and capture workspace chat sessions; Meta's webhook reports inbound messages and statuses.

Generated from the code by `make openapi` (routes from template.yaml, shapes from the pydantic models); a test
fails when this file drifts from it. Agents authenticate with a bearer JWT whose `tenant_id` claim (TENANT_CLAIM)
names their tenant, checked by API Gateway's JWT authorizer; connectors with their connection's `x-api-key`.

Errors come in the envelope each contract already speaks: `{"error": "..."}`, or for the agent dashboard route
`{"success": false, "error": {"code", "message", "details"}}`. API Gateway's own answers
(`{"message": "Unauthorized"}`, `{"message": "Internal Server Error"}`) are listed where they apply; its throttling
(429), payload (413) and timeout (503/504) answers are not.

Real-time events (new messages, statuses, session messages) arrive over the WebSocket API
(`wss://...?token=BEARER_TOKEN`, actions `subscribe_conversation`, `subscribe_session`, `unsubscribe`), which is not
HTTP and so not described here.
"""


# ---------------------------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------------------------
def operation_id(route_key: str) -> str:
    """`GET /api/v1/conversations/{id}` -> `get_api_v1_conversations_id`."""
    return re.sub(r"[^A-Za-z0-9]+", "_", route_key).strip("_").lower()


def alias_route_keys() -> list[str]:
    """Route keys whose operation an earlier catalogue entry already has (the /v1 spellings of the seeds' paths)."""
    first_keys: dict[int, str] = {}
    return [key for key, operation in CATALOGUE.items() if first_keys.setdefault(id(operation), key) != key]


def _strip_titles(schema: Any, *, naming_properties: bool = False) -> Any:
    """Drop pydantic's per-field `title`s (noise next to the property name); keep properties called `title`."""
    if isinstance(schema, list):
        return [_strip_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        key: _strip_titles(value, naming_properties=key == "properties" and not naming_properties)
        for key, value in schema.items()
        if naming_properties or key != "title"
    }


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query, path or header parameter is absent or a string: its `| None` means "optional", not null."""
    branches = [branch for branch in schema.get("anyOf", []) if branch != {"type": "null"}]
    if "anyOf" in schema and len(branches) == 1:
        outer = {key: value for key, value in schema.items() if key != "anyOf"}
        schema = outer | branches[0]
    if schema.get("default", ...) is None:
        schema = {key: value for key, value in schema.items() if key != "default"}
    return schema


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation", by_alias=True)
    assert "$defs" not in schema, f"{model.__name__}: query parameters must be flat"
    required = set(schema.get("required", []))
    parameters = []
    for name, property_schema in schema["properties"].items():
        parameter_schema = _not_null(_strip_titles(property_schema))
        description = parameter_schema.pop("description", None)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if description:
            parameter["description"] = description
        parameters.append(parameter | {"schema": parameter_schema})
    return parameters


def _parameter(name: str, location: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    description = schema.pop("description", None)
    required = bool(schema.pop("required", location == "path"))
    parameter: dict[str, Any] = {"name": name, "in": location, "required": required}
    if description:
        parameter["description"] = description
    return parameter | {"schema": schema}


class _Schemas:
    """Collects every model an operation names, then renders them all as components in one pass."""

    def __init__(self) -> None:
        self._wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = []

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        """A placeholder replaced by the model's $ref once every model is known."""
        if (model, mode) not in self._wanted:
            self._wanted.append((model, mode))
        return {"$model": (model, mode)}

    def render(self, document: dict[str, Any]) -> dict[str, Any]:
        references, definitions = models_json_schema(self._wanted, ref_template=SCHEMA_REF)

        def resolve(node: Any) -> Any:
            if isinstance(node, dict):
                if "$model" in node:
                    return references[node["$model"]]
                return {key: resolve(value) for key, value in node.items()}
            if isinstance(node, list):
                return [resolve(item) for item in node]
            return node

        resolved = resolve(document)
        components = _strip_titles(definitions.get("$defs", {}))
        resolved["components"]["schemas"] = {name: components[name] for name in sorted(components)}
        return resolved


def _json_content(schema: dict[str, Any], media_type: str = "application/json") -> dict[str, Any]:
    return {media_type: {"schema": schema}}


def _body_content(body: Body, schemas: _Schemas, mode: JsonSchemaMode) -> dict[str, Any]:
    if body.model is not None:
        return _json_content(schemas.ref(body.model, mode), body.media_type)
    return _json_content(dict(body.schema or {}), body.media_type)


def _error_schema(operation: Operation, status: int, route: Route, schemas: _Schemas) -> dict[str, Any]:
    envelope = AgentError if operation.envelope is ErrorEnvelope.AGENT else Error
    models = list(operation.error_bodies.get(status, (envelope,)))
    # API Gateway answers these itself, before (401) or instead of (a crashed function's 500) the handler.
    if (status == 401 and route.authorized) or status == 500:
        models.append(GatewayError)
    branches = [schemas.ref(model, "serialization") for model in models]
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


def _responses(operation: Operation, route: Route, schemas: _Schemas) -> dict[str, Any]:
    errors = dict(operation.errors)
    if route.authorized:
        errors.setdefault(401, "No valid bearer token (API Gateway), or a token without a valid tenant claim")
        # Every bearer route checks, in its transaction's tenant setup, that the token's tenant exists.
        unknown_tenant = f"`{UNKNOWN_TENANT_MESSAGE}`: the token's tenant claim names no tenant"
        errors[403] = f"{errors[403]}; or {unknown_tenant}" if 403 in errors else unknown_tenant
    errors.setdefault(500, f"`{INTERNAL_ERROR_MESSAGE}`: an unexpected failure, logged with its stack")
    responses: dict[str, Any] = {}
    for status in sorted(set(operation.responses) | set(errors)):
        if status in operation.responses:
            body = operation.responses[status]
            response = {"description": body.description, "content": _body_content(body, schemas, "serialization")}
        else:
            response = {
                "description": errors[status],
                "content": _json_content(_error_schema(operation, status, route, schemas)),
            }
        responses[str(status)] = response
    return responses


def _request_body(operation: Operation, schemas: _Schemas) -> dict[str, Any] | None:
    if operation.body is None:
        return None
    content = _body_content(operation.body, schemas, "validation")
    if operation.body_limits:
        # Stated next to the model's own schema: allOf keeps the component shared and adds the handler's checks.
        media_type = operation.body.media_type
        content[media_type]["schema"] = {
            "allOf": [content[media_type]["schema"], {"properties": copy.deepcopy(dict(operation.body_limits))}]
        }
    return {"description": operation.body.description, "required": operation.body_required, "content": content}


def _security(route: Route, operation: Operation) -> list[dict[str, list[str]]]:
    if route.authorized:
        return [{"bearerAuth": []}]
    if operation.auth is Auth.API_KEY:
        return [{"apiKey": []}]
    return []


def _check_catalogue(template: Template) -> None:
    routes = {route.route_key: route for route in template.routes}
    missing = sorted(set(routes) - set(CATALOGUE))
    unknown = sorted(set(CATALOGUE) - set(routes))
    problems = [f"template route without a catalogue entry in devtools/openapi.py: {key}" for key in missing]
    problems += [f"catalogue entry for a route template.yaml does not have: {key}" for key in unknown]
    for key in sorted(set(routes) & set(CATALOGUE)):
        operation, route = CATALOGUE[key], routes[key]
        if set(operation.path) != set(route.parameter_names):
            problems.append(f"{key}: path parameters {sorted(operation.path)} != {sorted(route.parameter_names)}")
        if (operation.auth is Auth.JWT) != route.authorized:
            problems.append(f"{key}: the catalogue says auth={operation.auth.value}, the template disagrees")
    if problems:
        raise CatalogueMismatch("\n".join(problems))


def _project_version() -> str:
    with (REPO_ROOT / "pyproject.toml").open("rb") as pyproject:
        return str(tomllib.load(pyproject)["project"]["version"])


def build_document(template: Template | None = None) -> dict[str, Any]:
    """The OpenAPI document as a dict; CatalogueMismatch when the catalogue and the template disagree."""
    template = template or load_template()
    _check_catalogue(template)
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(template.routes, key=lambda route: (route.path, route.method)):
        operation = CATALOGUE[route.route_key]
        parameters = [_parameter(name, "path", operation.path[name]) for name in route.parameter_names]
        if operation.query is not None:
            parameters += _query_parameters(operation.query)
        parameters += [_parameter(name, "header", schema) for name, schema in operation.headers.items()]
        entry: dict[str, Any] = {
            "operationId": operation_id(route.route_key),
            "summary": operation.summary,
            "description": operation.description,
            "tags": [operation.tag],
            "security": _security(route, operation),
        }
        if operation.deprecated:
            entry["deprecated"] = True
        if parameters:
            entry["parameters"] = parameters
        request_body = _request_body(operation, schemas)
        if request_body is not None:
            entry["requestBody"] = request_body
        entry["responses"] = _responses(operation, route, schemas)
        entry["x-threadline-function"] = route.function
        paths.setdefault(route.path, {})[route.method.lower()] = entry
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Threadline API",
            "version": _project_version(),
            "description": DESCRIPTION,
        },
        "servers": [
            {"url": "/", "description": "where this document is served from (`make dev`: http://127.0.0.1:3000)"},
            {
                "url": "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}",
                "description": "the deployed HttpApi (stack output ApiUrl)",
                "variables": {
                    "apiId": {"default": "API_ID"},
                    "region": {"default": "us-east-1"},
                    "stage": {"default": "dev", "enum": ["dev", "prod"]},
                },
            },
        ],
        "tags": [{"name": name, "description": description} for name, description in TAGS.items()],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A token from the configured issuer whose TENANT_CLAIM names the tenant and "
                    "whose `sub` names the agent (locally: `threadline token --tenant ID`)",
                },
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "The connection's API secret (`threadline connection create` shows it once)",
                },
            },
            "schemas": {},
        },
    }
    return schemas.render(document)


class _Dumper(yaml.SafeDumper):
    """Plain YAML for people: no anchors for shared schemas, multi-line text as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def render_yaml(document: Mapping[str, Any]) -> str:
    header = (
        "# Generated by `make openapi` (devtools/openapi.py) from template.yaml and the code's models: do not edit.\n"
    )
    return header + yaml.dump(dict(document), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when api/openapi.yaml differs from the code")
    args = parser.parse_args(argv)
    text = render_yaml(build_document())
    if args.check:
        if not OPENAPI_PATH.exists() or OPENAPI_PATH.read_text("utf-8") != text:
            print(f"{OPENAPI_PATH.relative_to(REPO_ROOT)} is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OPENAPI_PATH.parent.mkdir(parents=True, exist_ok=True)
    OPENAPI_PATH.write_text(text, "utf-8")
    print(f"wrote {OPENAPI_PATH.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
