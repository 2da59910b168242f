"""Messaging ingest: connectors push WhatsApp, Signal, Telegram and WeChat conversations in batches.

Contract: docs/ingest-api.md (authenticated by the connection's x-api-key, no JWT).
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.ingest import ingest_conversations
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.observability import logger, metrics, tracer

app = create_resolver(ErrorEnvelope.PLAIN)


@app.post("/functions/v1/messaging-ingest")
@app.post("/v1/ingest")
def ingest():
    response = ingest_conversations(
        api_key=app.current_event.headers.get("x-api-key"), body=app.current_event.decoded_body
    )
    return json_response(200, response.model_dump(mode="json"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
