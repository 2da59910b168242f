"""A conversation's messages, in the two contracts that read them:

- `GET /api/v1/conversations/{id}/messages` (docs/conversations-api.md): newest first by
  `before` cursor, plain `{"error": ...}` errors;
- `GET /api/agent/conversations/{conversation_id}/messages` (docs/agent-messages-api.md):
  numbered pages in either order, the `{success, data}` envelope and its own error envelope.

One resolver answers in one error envelope, so each contract has its own and the route key picks between them.
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.caller import Caller
from threadline.domain.inbox.messages import agent_conversation_messages, conversation_messages
from threadline.errors import InvalidRequest, Unauthorized
from threadline.http.auth import caller_from_event
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.models.ids import CONVERSATION_ID_EXPLANATION, parse_id
from threadline.models.messages import (
    AGENT_CONVERSATION_ID_EXPLANATION,
    AGENT_QUERY_EXPLANATIONS,
    MESSAGE_QUERY_EXPLANATIONS,
    AgentMessageQuery,
    MessageListQuery,
    refuse_agent_parameters,
)
from threadline.models.query import parse_query
from threadline.observability import logger, metrics, tracer

AGENT_ROUTE_KEY = "GET /api/agent/conversations/{conversation_id}/messages"

app = create_resolver(ErrorEnvelope.PLAIN)
agent_app = create_resolver(ErrorEnvelope.AGENT)


@app.get("/api/v1/conversations/<conversation_id>/messages")
@app.get("/v1/conversations/<conversation_id>/messages")
def list_messages(conversation_id: str):
    caller = caller_from_event(app.current_event.raw_event)
    conversation = parse_id(conversation_id, explanation=CONVERSATION_ID_EXPLANATION, refuse=InvalidRequest)
    query = parse_query(
        MessageListQuery,
        app.current_event.query_string_parameters,
        explanations=MESSAGE_QUERY_EXPLANATIONS,
        refuse=InvalidRequest,
    )
    return json_response(200, conversation_messages(caller, conversation, query))


def _agent_caller() -> Caller:
    try:
        return caller_from_event(agent_app.current_event.raw_event)
    except Unauthorized:
        raise Unauthorized("Authentication required", details="Valid access token required") from None


@agent_app.get("/api/agent/conversations/<conversation_id>/messages")
def list_agent_messages(conversation_id: str):
    caller = _agent_caller()
    conversation = parse_id(
        conversation_id, explanation=AGENT_CONVERSATION_ID_EXPLANATION, refuse=refuse_agent_parameters
    )
    query = parse_query(
        AgentMessageQuery,
        agent_app.current_event.query_string_parameters,
        explanations=AGENT_QUERY_EXPLANATIONS,
        refuse=refuse_agent_parameters,
    )
    return json_response(200, agent_conversation_messages(caller, conversation, query))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    resolver = agent_app if event.get("routeKey") == AGENT_ROUTE_KEY else app
    return resolver.resolve(event, context)
