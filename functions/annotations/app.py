"""What agents add to a conversation: its labels (and the tenant's list of them), private notes, and their own
read state.

Contract: docs/conversations-api.md (agents, JWT; plain `{"error": ...}` errors). Every route needs an agent's own
token (its `sub` a user of the tenant).
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.inbox.annotations import list_tenant_labels, mark_read, replace_labels, write_note
from threadline.errors import InvalidRequest
from threadline.http.auth import caller_from_event
from threadline.http.errors import ErrorEnvelope, json_response
from threadline.http.resolver import create_resolver
from threadline.models.annotations import LabelsRequest, NoteRequest, ReadRequest, parse_body, parse_optional_body
from threadline.models.ids import CONVERSATION_ID_EXPLANATION, parse_id
from threadline.observability import logger, metrics, tracer

app = create_resolver(ErrorEnvelope.PLAIN)


def _conversation(conversation_id: str) -> int:
    return parse_id(conversation_id, explanation=CONVERSATION_ID_EXPLANATION, refuse=InvalidRequest)


@app.put("/api/v1/conversations/<conversation_id>/labels")
@app.put("/v1/conversations/<conversation_id>/labels")
def put_labels(conversation_id: str):
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    target = _conversation(conversation_id)
    return json_response(200, replace_labels(caller, target, parse_body(LabelsRequest, event.decoded_body)))


@app.get("/api/v1/labels")
@app.get("/v1/labels")
def get_labels():
    return json_response(200, list_tenant_labels(caller_from_event(app.current_event.raw_event)))


@app.post("/api/v1/conversations/<conversation_id>/notes")
@app.post("/v1/conversations/<conversation_id>/notes")
def post_note(conversation_id: str):
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    target = _conversation(conversation_id)
    return json_response(201, write_note(caller, target, parse_body(NoteRequest, event.decoded_body)))


@app.post("/api/v1/conversations/<conversation_id>/read")
@app.post("/v1/conversations/<conversation_id>/read")
def post_read(conversation_id: str):
    event = app.current_event
    caller = caller_from_event(event.raw_event)
    target = _conversation(conversation_id)
    return json_response(200, mark_read(caller, target, parse_optional_body(ReadRequest, event.decoded_body)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
