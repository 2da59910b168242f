"""The event log's catch-up read: `GET /v1/events?after=<seq>&limit=1..500` (also `/api/v1/events`).

Contract: docs/events.md (agents, JWT; plain `{"error": ...}` errors, 410 when `after` is older than the log keeps).
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.events.log import list_events
from threadline.errors import InvalidRequest
from threadline.http.auth import caller_from_event
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.models.events import EVENTS_QUERY_EXPLANATIONS, EventsQuery
from threadline.models.query import parse_query
from threadline.observability import logger, metrics, tracer

app = create_resolver(ErrorEnvelope.PLAIN)


@app.get("/api/v1/events")
@app.get("/v1/events")
def get_events():
    caller = caller_from_event(app.current_event.raw_event)
    query = parse_query(
        EventsQuery,
        app.current_event.query_string_parameters,
        explanations=EVENTS_QUERY_EXPLANATIONS,
        refuse=InvalidRequest,
    )
    return json_response(200, list_events(caller, query))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
