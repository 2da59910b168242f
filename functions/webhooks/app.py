"""Webhook subscriptions for integrations: create (the secret shown once), list, delete, rotate the secret, and each
one's deliveries (status, attempts, last answer, next attempt) with redelivery.

Contract: docs/webhooks.md (bearer JWT; plain `{"error": ...}` errors). Deliveries themselves are made by the
DeliveryDispatchFunction, never by these requests.
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.events.subscriptions import (
    create_webhook,
    list_webhook_deliveries,
    list_webhooks,
    redeliver,
    remove_webhook,
    rotate_webhook_secret,
)
from threadline.errors import InvalidRequest
from threadline.http.auth import caller_from_event
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.models.ids import parse_uuid
from threadline.models.validation import parse_json_body
from threadline.models.webhook_subscriptions import (
    DELIVERY_ID_EXPLANATION,
    EMPTY_BODY_MESSAGE,
    MAX_BODY_BYTES,
    TOO_LARGE_MESSAGE,
    WEBHOOK_ID_EXPLANATION,
    WebhookCreateRequest,
)
from threadline.observability import logger, metrics, tracer

app = create_resolver(ErrorEnvelope.PLAIN)


def _uuid(raw: str, explanation: str):  # -> UUID
    parsed = parse_uuid(raw)
    if parsed is None:
        raise InvalidRequest(explanation)
    return parsed


@app.post("/api/v1/webhooks")
@app.post("/v1/webhooks")
def post_webhook():
    event = app.current_event
    request = parse_json_body(
        WebhookCreateRequest,
        event.decoded_body,
        max_bytes=MAX_BODY_BYTES,
        empty_message=EMPTY_BODY_MESSAGE,
        too_large_message=TOO_LARGE_MESSAGE,
    )
    return json_response(201, create_webhook(caller_from_event(event.raw_event), request))


@app.get("/api/v1/webhooks")
@app.get("/v1/webhooks")
def get_webhooks():
    return json_response(200, list_webhooks(caller_from_event(app.current_event.raw_event)))


@app.delete("/api/v1/webhooks/<webhook_id>")
@app.delete("/v1/webhooks/<webhook_id>")
def delete_webhook(webhook_id: str):
    caller = caller_from_event(app.current_event.raw_event)
    return json_response(200, remove_webhook(caller, _uuid(webhook_id, WEBHOOK_ID_EXPLANATION)))


@app.post("/api/v1/webhooks/<webhook_id>/rotate-secret")
@app.post("/v1/webhooks/<webhook_id>/rotate-secret")
def post_rotate_secret(webhook_id: str):
    caller = caller_from_event(app.current_event.raw_event)
    return json_response(200, rotate_webhook_secret(caller, _uuid(webhook_id, WEBHOOK_ID_EXPLANATION)))


@app.get("/api/v1/webhooks/<webhook_id>/deliveries")
@app.get("/v1/webhooks/<webhook_id>/deliveries")
def get_deliveries(webhook_id: str):
    caller = caller_from_event(app.current_event.raw_event)
    return json_response(200, list_webhook_deliveries(caller, _uuid(webhook_id, WEBHOOK_ID_EXPLANATION)))


@app.post("/api/v1/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
@app.post("/v1/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
def post_redeliver(webhook_id: str, delivery_id: str):
    caller = caller_from_event(app.current_event.raw_event)
    target = _uuid(webhook_id, WEBHOOK_ID_EXPLANATION)
    return json_response(202, redeliver(caller, target, _uuid(delivery_id, DELIVERY_ID_EXPLANATION)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
