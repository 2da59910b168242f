"""Workspace chat sessions: capturing session messages (with optional replies from the language model), and
creating the workspaces and sessions they belong to.

Contract: docs/session-messages-api.md. Every route takes the agent's bearer JWT; its tenant
scopes every lookup.
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.sessions import (
    SessionOutcome,
    capture_assistant_message,
    capture_user_message,
    create_session_for,
    create_workspace_for,
)
from threadline.http.auth import caller_from_event
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.observability import logger, metrics, tracer

app = create_resolver(ErrorEnvelope.PLAIN)


def _respond(outcome: SessionOutcome):
    return json_response(outcome.status_code, outcome.body)


@app.post("/api/workspace/<workspace_id>/session/<session_id>/message/assistant")
@app.post("/api/workspace/<workspace_id>/session/<session_id>/message")  # deprecated: behaves as /assistant
def capture_assistant(workspace_id: str, session_id: str):
    event = app.current_event
    return _respond(
        capture_assistant_message(
            caller=caller_from_event(event.raw_event),
            workspace_ref=workspace_id,
            session_ref=session_id,
            body=event.decoded_body,
        )
    )


@app.post("/api/workspace/<workspace_id>/session/<session_id>/message/user")
def capture_user(workspace_id: str, session_id: str):
    event = app.current_event
    return _respond(
        capture_user_message(
            caller=caller_from_event(event.raw_event),
            workspace_ref=workspace_id,
            session_ref=session_id,
            body=event.decoded_body,
            remaining_ms=app.lambda_context.get_remaining_time_in_millis(),
        )
    )


@app.post("/v1/workspaces")
def create_workspace():
    event = app.current_event
    return _respond(create_workspace_for(caller_from_event(event.raw_event), event.decoded_body))


@app.post("/v1/workspaces/<workspace_id>/sessions")
def create_session(workspace_id: str):
    event = app.current_event
    return _respond(create_session_for(caller_from_event(event.raw_event), workspace_id, event.decoded_body))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
