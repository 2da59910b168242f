"""Workspace chat sessions: capturing session messages (with optional replies from the language model), and
creating the workspaces and sessions they belong to.

Contract: docs/session-messages-api.md. Every route takes the agent's bearer JWT; its tenant scopes every lookup.
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.sessions.capture import (
    capture_assistant_message,
    capture_user_message,
    create_session_for,
    create_workspace_for,
)
from threadline.http.auth import caller_from_event
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.models.sessions import (
    parse_capture_request,
    parse_create_session_request,
    parse_create_workspace_request,
)
from threadline.observability import logger, metrics, tracer

app = create_resolver(ErrorEnvelope.PLAIN)


@app.post("/api/workspace/<workspace_id>/session/<session_id>/message/assistant")
@app.post("/api/workspace/<workspace_id>/session/<session_id>/message")  # deprecated: behaves as /assistant
def capture_assistant(workspace_id: str, session_id: str):
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    request = parse_capture_request(event.decoded_body, allow_processing=False)
    captured = capture_assistant_message(
        caller=caller, workspace_ref=workspace_id, session_ref=session_id, request=request
    )
    return json_response(200, captured)


@app.post("/api/workspace/<workspace_id>/session/<session_id>/message/user")
def capture_user(workspace_id: str, session_id: str):
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    request = parse_capture_request(event.decoded_body, allow_processing=True)
    captured = capture_user_message(
        caller=caller,
        workspace_ref=workspace_id,
        session_ref=session_id,
        request=request,
        remaining_ms=app.lambda_context.get_remaining_time_in_millis(),
    )
    return json_response(200, captured)


@app.post("/v1/workspaces")
def create_workspace():
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    return json_response(201, create_workspace_for(caller, parse_create_workspace_request(event.decoded_body)))


@app.post("/v1/workspaces/<workspace_id>/sessions")
def create_session(workspace_id: str):
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    return json_response(
        201, create_session_for(caller, workspace_id, parse_create_session_request(event.decoded_body))
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
