"""The error bodies of every contract, written once. threadline.http.errors picks among them per route; the OpenAPI
document (api/openapi.yaml) is generated from these very models.

The contracts speak three envelopes:
- `{"error": "<message>"}` (ingest, send, conversations, messages, webhook and workspace APIs), with Meta's code,
  title and details added when Meta refused a send (`UpstreamError`);
- the agent dashboard's `{"success": false, "error": {"code", "message", "details"}}` (`AgentError`);
- the session capture's failed reply: `{"success": true, "userMessage", "processingError"}` (`ReplyFailed`, in
  threadline.models.sessions, since it carries a session message).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The class names are the OpenAPI component names in api/openapi.yaml: `Error`, `AgentError`, ...

INTERNAL_ERROR_MESSAGE = "Internal server error"

# The agent dashboard's error codes by status; any other status answers "ERROR".
AgentErrorCode = Literal["DATABASE_ERROR", "ERROR", "FORBIDDEN", "INVALID_PARAMETERS", "NOT_FOUND", "UNAUTHORIZED"]
AGENT_ERROR_CODES: dict[int, AgentErrorCode] = {
    400: "INVALID_PARAMETERS",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    500: "DATABASE_ERROR",
}
AGENT_FALLBACK_CODE: AgentErrorCode = "ERROR"


class Error(BaseModel):
    """The `{"error": "..."}` envelope (ingest, send, conversations, messages, webhook and workspace APIs)."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="what went wrong, in a sentence a developer can act on")


class UpstreamError(Error):
    """Meta refused or did not confirm a send. With Meta's error: `code`, `title`, `details`; when Meta's answer
    was lost: `message_id` (the message stays pending and its status webhook settles it: do not resend)."""

    code: int | None = Field(default=None, description="Meta's error code, e.g. 131026")
    title: str | None = Field(default=None, description="Meta's error title")
    details: str | None = Field(default=None, description="Meta's error_data.details")
    message_id: int | None = Field(default=None, description="the pending message, when the outcome is unknown")


class AgentErrorBody(BaseModel):
    code: AgentErrorCode
    message: str
    details: str


class AgentError(BaseModel):
    """The agent dashboard's error envelope (`GET /api/agent/conversations/{conversation_id}/messages`)."""

    success: Literal[False]
    error: AgentErrorBody


class GatewayError(BaseModel):
    """API Gateway's own answer: 401 `Unauthorized` from the JWT authorizer (no, expired or foreign token), or
    500 `Internal Server Error` when the function itself crashed."""

    message: str


def agent_error_code(status: int) -> AgentErrorCode:
    return AGENT_ERROR_CODES.get(status, AGENT_FALLBACK_CODE)
