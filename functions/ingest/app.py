"""Messaging ingest: connectors push WhatsApp, Signal, Telegram and WeChat conversations in batches, and report the
statuses of the agents' replies they delivered.

Contracts: docs/ingest-api.md and docs/connector-callbacks.md (authenticated by the connection's x-api-key, no JWT).
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.intake.ingest import ingest_conversations, require_api_key
from threadline.domain.intake.statuses import report_statuses
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.models.connector_statuses import parse_status_report
from threadline.models.ingest import parse_ingest_request
from threadline.observability import logger, metrics, tracer

app = create_resolver(ErrorEnvelope.PLAIN)


@app.post("/functions/v1/messaging-ingest")
@app.post("/v1/ingest")
def ingest():
    event = app.current_event
    api_key = require_api_key(event.headers.get("x-api-key"))
    response = ingest_conversations(api_key=api_key, request=parse_ingest_request(event.decoded_body))
    return json_response(200, response)


@app.post("/functions/v1/messaging-ingest/statuses")
@app.post("/v1/ingest/statuses")
def ingest_statuses():
    event = app.current_event
    api_key = require_api_key(event.headers.get("x-api-key"))
    response = report_statuses(api_key=api_key, request=parse_status_report(event.decoded_body))
    return json_response(200, response)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
