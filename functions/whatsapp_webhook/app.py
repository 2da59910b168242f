"""Meta's WhatsApp webhook: the subscription handshake (GET) and notifications of messages and statuses (POST).

No JWT: Meta proves itself with the verify token (GET) and the X-Hub-Signature-256 of every body (POST).
Errors use the plain `{"error": ...}` envelope.
"""

from dataclasses import asdict

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.intake.whatsapp_notifications import receive_whatsapp_notification, verify_subscription
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.meta.webhook import SIGNATURE_HEADER, raw_body_bytes
from threadline.models.whatsapp_notifications import WebhookAcknowledged
from threadline.observability import logger, metrics, tracer

app = create_resolver(ErrorEnvelope.PLAIN)


@app.get("/v1/webhooks/whatsapp")
def verify():
    query = app.current_event.query_string_parameters or {}
    challenge = verify_subscription(
        mode=query.get("hub.mode"), token=query.get("hub.verify_token"), challenge=query.get("hub.challenge")
    )
    return Response(status_code=200, content_type="text/plain", body=challenge)


@app.post("/v1/webhooks/whatsapp")
def receive():
    event = app.current_event
    # The signature covers the exact bytes Meta sent, so the body is never re-serialised before the check.
    receipt = receive_whatsapp_notification(
        body=raw_body_bytes(event.body, event.is_base64_encoded), signature=event.headers.get(SIGNATURE_HEADER)
    )
    logger.info("WhatsApp notification", extra=asdict(receipt))
    return json_response(200, WebhookAcknowledged(success=True))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
