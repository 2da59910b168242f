"""Sending WhatsApp messages: to a contact by number, or into a conversation.

Contracts: docs/send-message-api.md (`POST /api/messages/send`) and the send half of
docs/conversations-api.md (`POST /api/v1/conversations/{id}/messages`).
An `Idempotency-Key` header makes a retried request replay the first answer instead of sending again.
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.sending import SendOutcome, send_to_conversation, send_to_recipient
from threadline.http.auth import caller_from_event
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.observability import logger, metrics, tracer

app = create_resolver(ErrorEnvelope.PLAIN)


def _respond(outcome: SendOutcome):
    return json_response(outcome.status_code, outcome.body)


@app.post("/api/messages/send")
@app.post("/v1/messages/send")
def send_message():
    event = app.current_event
    return _respond(
        send_to_recipient(
            caller=caller_from_event(event.raw_event),
            body=event.decoded_body,
            idempotency_key=event.headers.get("idempotency-key"),
            remaining_ms=app.lambda_context.get_remaining_time_in_millis(),
        )
    )


@app.post("/api/v1/conversations/<conversation_id>/messages")
@app.post("/v1/conversations/<conversation_id>/messages")
def send_conversation_message(conversation_id: str):
    event = app.current_event
    return _respond(
        send_to_conversation(
            caller=caller_from_event(event.raw_event),
            conversation_id=conversation_id,
            body=event.decoded_body,
            idempotency_key=event.headers.get("idempotency-key"),
            remaining_ms=app.lambda_context.get_remaining_time_in_millis(),
        )
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
