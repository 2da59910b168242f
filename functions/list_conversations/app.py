"""The tenant's inbox, read: the conversation list (filters, orders), one conversation, the inbox counts, search,
and the account's message templates.

Contracts: docs/conversations-api.md, docs/templates-api.md (agents, JWT; plain `{"error": ...}` errors).
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.inbox.conversations import list_tenant_conversations, show_conversation
from threadline.domain.inbox.counts import read_inbox_counts
from threadline.domain.inbox.search import search
from threadline.domain.templates.catalogue import list_account_templates
from threadline.errors import InvalidRequest
from threadline.http.auth import caller_from_event
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.models.conversations import (
    CONVERSATION_QUERY_EXPLANATIONS,
    INBOX_COUNTS_QUERY_EXPLANATIONS,
    ConversationListQuery,
    InboxCountsQuery,
    conversation_etag,
)
from threadline.models.ids import CONVERSATION_ID_EXPLANATION, parse_id
from threadline.models.query import parse_query
from threadline.models.search import SEARCH_QUERY_EXPLANATIONS, SearchQuery
from threadline.models.templates import TEMPLATE_QUERY_EXPLANATIONS, TemplateListQuery
from threadline.observability import logger, metrics, tracer

app = create_resolver(ErrorEnvelope.PLAIN)


@app.get("/api/v1/conversations")
@app.get("/v1/conversations")
def list_conversations():
    caller = caller_from_event(app.current_event.raw_event)
    query = parse_query(
        ConversationListQuery,
        app.current_event.query_string_parameters,
        explanations=CONVERSATION_QUERY_EXPLANATIONS,
        refuse=InvalidRequest,
    )
    return json_response(200, list_tenant_conversations(caller, query))


# Before the {id} route: a literal path wins over a parameter, as in API Gateway.
@app.get("/api/v1/conversations/counts")
@app.get("/v1/conversations/counts")
def inbox_counts():
    caller = caller_from_event(app.current_event.raw_event)
    query = parse_query(
        InboxCountsQuery,
        app.current_event.query_string_parameters,
        explanations=INBOX_COUNTS_QUERY_EXPLANATIONS,
        refuse=InvalidRequest,
    )
    return json_response(200, read_inbox_counts(caller, query))


@app.get("/api/v1/conversations/<conversation_id>")
@app.get("/v1/conversations/<conversation_id>")
def get_conversation(conversation_id: str):
    caller = caller_from_event(app.current_event.raw_event)
    conversation = show_conversation(
        caller, parse_id(conversation_id, explanation=CONVERSATION_ID_EXPLANATION, refuse=InvalidRequest)
    )
    # The version a PATCH's If-Match names (threadline.domain.inbox.lifecycle).
    return json_response(200, conversation, headers={"ETag": conversation_etag(conversation.version)})


@app.get("/api/v1/search")
@app.get("/v1/search")
def search_inbox():
    caller = caller_from_event(app.current_event.raw_event)
    query = parse_query(
        SearchQuery,
        app.current_event.query_string_parameters,
        explanations=SEARCH_QUERY_EXPLANATIONS,
        refuse=InvalidRequest,
    )
    return json_response(200, search(caller, query))


@app.get("/api/v1/templates")
@app.get("/v1/templates")
def list_templates():
    caller = caller_from_event(app.current_event.raw_event)
    query = parse_query(
        TemplateListQuery,
        app.current_event.query_string_parameters,
        explanations=TEMPLATE_QUERY_EXPLANATIONS,
        refuse=InvalidRequest,
    )
    return json_response(200, list_account_templates(caller, query))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
