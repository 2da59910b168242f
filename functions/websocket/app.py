"""The WebSocket API: agents' browsers subscribe to conversations and chat sessions and receive their events.

Routes (template.yaml's WebSocketApi, chosen by `$request.body.action`): $connect (behind the token authorizer),
$disconnect, subscribe_session, subscribe_conversation, unsubscribe, and $default for anything else, among it the
`{"type": "subscribe_session", "sessionId": ...}` frames of the workspace session API's clients, which carry no
`action` (threadline/realtime/actions.py reads both spellings). Each answer to a client frame is the route response:
one JSON frame, an ack or an error (threadline/models/frames.py).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.live import answer_client_frame, forget_connection, register_connection
from threadline.errors import ThreadlineError
from threadline.observability import logger, metrics, tracer
from threadline.realtime.frames import encode_answer


def _on_connect(request_context: dict, connection_id: str) -> dict:
    try:
        register_connection(connection_id=connection_id, authorizer=request_context.get("authorizer") or {})
    except ThreadlineError as error:
        # A non-2xx answer to $connect refuses the WebSocket handshake with that status.
        return {"statusCode": error.status_code}
    return {"statusCode": 200}


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request_context = event["requestContext"]
    route_key, connection_id = request_context["routeKey"], request_context["connectionId"]
    if route_key == "$connect":
        return _on_connect(request_context, connection_id)
    if route_key == "$disconnect":
        forget_connection(connection_id)
        return {"statusCode": 200}
    frame = answer_client_frame(connection_id, event.get("body"))
    return {"statusCode": 200, "body": encode_answer(frame)}
