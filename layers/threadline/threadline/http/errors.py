"""The one place where domain errors become HTTP responses, per contract.

The seeds speak three error envelopes:
- ingest, send and workspace APIs: `{"error": "<message>"}`;
- the agent dashboard API: `{"success": false, "error": {"code", "message", "details"}}`;
Anything unexpected is logged with its stack and answered with the contract's generic 500, never with internals.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import Enum
from typing import Any

from aws_lambda_powertools.event_handler import Response

from threadline.errors import ThreadlineError

INTERNAL_ERROR_MESSAGE = "Internal server error"


class ErrorEnvelope(Enum):
    PLAIN = "plain"
    AGENT = "agent"


_AGENT_CODES = {
    400: "INVALID_PARAMETERS",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    500: "DATABASE_ERROR",
}


def _plain_body(status: int, message: str, details: str | None) -> dict[str, Any]:
    return {"error": message}


def _agent_body(status: int, message: str, details: str | None) -> dict[str, Any]:
    return {
        "success": False,
        "error": {"code": _AGENT_CODES.get(status, "ERROR"), "message": message, "details": details or message},
    }


_BODY_BUILDERS: dict[ErrorEnvelope, Callable[[int, str, str | None], dict[str, Any]]] = {
    ErrorEnvelope.PLAIN: _plain_body,
    ErrorEnvelope.AGENT: _agent_body,
}


def json_response(status_code: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status_code,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":"), default=str),
        headers=headers,
    )


def error_response(envelope: ErrorEnvelope, error: ThreadlineError) -> Response:
    body = _BODY_BUILDERS[envelope](error.status_code, error.message, error.details)
    if envelope is ErrorEnvelope.PLAIN:
        body |= error.fields
    return json_response(error.status_code, body)


def internal_error_response(envelope: ErrorEnvelope) -> Response:
    return json_response(500, _BODY_BUILDERS[envelope](500, INTERNAL_ERROR_MESSAGE, None))
