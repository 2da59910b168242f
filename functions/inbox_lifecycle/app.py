"""The team inbox's lifecycle and ownership: changing a conversation (status, snooze, assignee, team, priority),
the tenant's agents and their availability, and its teams.

Contract: docs/inbox-api.md (agents, JWT; plain `{"error": ...}` errors). A PATCH answers the conversation as GET
answers it, with its ETag; an If-Match that no longer matches is a 412 and changes nothing.
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.inbox.assignment import change_my_availability, list_tenant_agents, list_tenant_teams
from threadline.domain.inbox.lifecycle import update_conversation
from threadline.errors import InvalidRequest
from threadline.http.auth import caller_from_event
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.models.conversations import ConversationChange, conversation_etag
from threadline.models.ids import CONVERSATION_ID_EXPLANATION, parse_id
from threadline.models.ownership import INBOX_BODY_MAX_BYTES, AvailabilityChange
from threadline.models.validation import parse_json_body
from threadline.observability import logger, metrics, tracer

app = create_resolver(ErrorEnvelope.PLAIN)

_BODY_LIMITS = {
    "max_bytes": INBOX_BODY_MAX_BYTES,
    "empty_message": "Request body is required",
    "too_large_message": f"Request body too large: at most {INBOX_BODY_MAX_BYTES} bytes",
}


@app.patch("/api/v1/conversations/<conversation_id>")
@app.patch("/v1/conversations/<conversation_id>")
def change_conversation(conversation_id: str):
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    conversation = update_conversation(
        caller,
        parse_id(conversation_id, explanation=CONVERSATION_ID_EXPLANATION, refuse=InvalidRequest),
        parse_json_body(ConversationChange, event.decoded_body, **_BODY_LIMITS),
        if_match=event.headers.get("if-match"),
    )
    return json_response(200, conversation, headers={"ETag": conversation_etag(conversation.version)})


@app.get("/api/v1/agents")
@app.get("/v1/agents")
def list_agents():
    return json_response(200, list_tenant_agents(caller_from_event(app.current_event.raw_event)))


@app.put("/api/v1/agents/me/availability")
@app.put("/v1/agents/me/availability")
def change_availability():
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    agent = change_my_availability(caller, parse_json_body(AvailabilityChange, event.decoded_body, **_BODY_LIMITS))
    return json_response(200, agent)


@app.get("/api/v1/teams")
@app.get("/v1/teams")
def list_teams():
    return json_response(200, list_tenant_teams(caller_from_event(app.current_event.raw_event)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
