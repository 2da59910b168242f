"""The one place where errors become HTTP responses, per contract envelope (the bodies are threadline.models.errors'
models; the session capture's failed reply is threadline.models.sessions.ReplyFailed).

Anything unexpected is logged with its stack and answered with the contract's generic 500, never with internals.
"""

from __future__ import annotations

from enum import Enum

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from threadline.errors import ReplyNotProduced, ThreadlineError
from threadline.models.errors import (
    INTERNAL_ERROR_MESSAGE,
    AgentError,
    AgentErrorBody,
    Error,
    agent_error_code,
)


class ErrorEnvelope(Enum):
    PLAIN = "plain"  # {"error": "..."}
    AGENT = "agent"  # {"success": false, "error": {"code", "message", "details"}}


def json_response(status_code: int, body: BaseModel, headers: dict[str, str] | None = None) -> Response:
    """Every JSON answer is a model of threadline.models, serialised as its contract writes it."""
    return Response(
        status_code=status_code,
        content_type="application/json",
        body=body.model_dump_json(),
        headers=headers,
    )


def error_body(envelope: ErrorEnvelope, error: ThreadlineError) -> BaseModel:
    if isinstance(error, ReplyNotProduced):
        # Only the capture function raises it, and it has the session models loaded already: every other
        # function's cold start is spared building them (about 6 ms, `make bench-coldstart`).
        from threadline.models.sessions import ReplyFailed

        # The seed's failed reply: the user message *is* stored, so the body says success and carries it.
        return ReplyFailed(success=True, userMessage=error.user_message, processingError=error.message)
    if envelope is ErrorEnvelope.AGENT:
        detail = AgentErrorBody(
            code=agent_error_code(error.status_code), message=error.message, details=error.details or error.message
        )
        return AgentError(success=False, error=detail)
    return Error(error=error.message, **error.fields)


def error_response(envelope: ErrorEnvelope, error: ThreadlineError) -> Response:
    return json_response(error.status_code, error_body(envelope, error))


def internal_error_response(envelope: ErrorEnvelope) -> Response:
    return error_response(envelope, ThreadlineError(INTERNAL_ERROR_MESSAGE))


# The agent contract names its database failure: 500 DATABASE_ERROR "Failed to retrieve messages".
AGENT_STORAGE_ERROR_MESSAGE = "Failed to retrieve messages"


def storage_error_response(envelope: ErrorEnvelope) -> Response:
    """The database failed (threadline.db.errors.StorageError): each contract's 500."""
    if envelope is ErrorEnvelope.AGENT:
        return error_response(envelope, ThreadlineError(AGENT_STORAGE_ERROR_MESSAGE, details=INTERNAL_ERROR_MESSAGE))
    return internal_error_response(envelope)
