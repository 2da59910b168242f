"""Sending WhatsApp messages: to a contact by number, or into a conversation; and the business's reaction on a
message.

Contracts: docs/send-message-api.md (`POST /api/messages/send`) and the send half of docs/conversations-api.md
(`POST /api/v1/conversations/{id}/messages`, `PUT /api/v1/conversations/{id}/messages/{message_id}/reaction`). An
`Idempotency-Key` header makes a retried send replay the first answer instead of sending again. `POST /v1/uploads`
hands out a presigned S3 POST for a file an agent then sends with `{media: {upload_id}}` (docs/media.md).
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

# Every request here may send through Meta: the Graph client (requests) loads at init, where SnapStart snapshots it,
# not on a container's first send (the channel adapters import it only when they send).
import threadline.meta.client  # noqa: F401
from threadline.domain.media.uploads import create_upload
from threadline.domain.replies.reactions import MESSAGE_NOT_FOUND, react_to_message
from threadline.domain.replies.send import send_to_conversation, send_to_recipient
from threadline.errors import NotFound
from threadline.http.auth import caller_from_event
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.models.ids import parse_id
from threadline.models.messages import ReactionRequest
from threadline.models.sending import ConversationSendRequest, SendRequest, parse_body
from threadline.models.uploads import UploadRequest
from threadline.observability import logger, metrics, tracer

app = create_resolver(ErrorEnvelope.PLAIN)


@app.post("/api/messages/send")
@app.post("/v1/messages/send")
def send_message():
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    sent = send_to_recipient(
        caller=caller,
        request=parse_body(SendRequest, event.decoded_body),
        idempotency_key=event.headers.get("idempotency-key"),
        remaining_ms=app.lambda_context.get_remaining_time_in_millis(),
    )
    return json_response(200, sent)


@app.post("/api/v1/conversations/<conversation_id>/messages")
@app.post("/v1/conversations/<conversation_id>/messages")
def send_conversation_message(conversation_id: str):
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    # The send contract answers an id that names no conversation, malformed or not, with its 404.
    target = parse_id(conversation_id, explanation="Conversation not found", refuse=NotFound)
    sent = send_to_conversation(
        caller=caller,
        conversation_id=target,
        request=parse_body(ConversationSendRequest, event.decoded_body),
        idempotency_key=event.headers.get("idempotency-key"),
        remaining_ms=app.lambda_context.get_remaining_time_in_millis(),
    )
    return json_response(201, sent)


@app.post("/api/v1/uploads")
@app.post("/v1/uploads")
def upload_file():
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    upload = create_upload(caller, parse_body(UploadRequest, event.decoded_body))
    return json_response(201, upload)


@app.put("/api/v1/conversations/<conversation_id>/messages/<message_id>/reaction")
@app.put("/v1/conversations/<conversation_id>/messages/<message_id>/reaction")
def react(conversation_id: str, message_id: str):
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    reactions = react_to_message(
        caller=caller,
        conversation_id=parse_id(conversation_id, explanation="Conversation not found", refuse=NotFound),
        message_id=parse_id(message_id, explanation=MESSAGE_NOT_FOUND, refuse=NotFound),
        request=parse_body(ReactionRequest, event.decoded_body),
        remaining_ms=app.lambda_context.get_remaining_time_in_millis(),
    )
    return json_response(200, reactions)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
