"""Domain errors. Handlers never build error responses themselves: threadline.http.errors maps these
to each contract's envelope in one place."""

from __future__ import annotations

from typing import Any

# What every route answers for a conversation it cannot see (absent, or another tenant's). Here, beside NotFound,
# so the modules that only need the sentence (message views, annotations) do not load the conversation list's
# domain and models for it (about 14 ms of a cold start).
CONVERSATION_NOT_FOUND = "Conversation not found"


class ThreadlineError(Exception):
    """Base of every error the API answers deliberately (anything else is a 500)."""

    status_code = 500

    def __init__(self, message: str, *, details: str | None = None, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        # Extra top-level keys for contracts whose errors carry more than a message (e.g. Meta's code and title).
        self.fields = fields or {}


class InvalidRequest(ThreadlineError):
    status_code = 400


class Unauthorized(ThreadlineError):
    status_code = 401


class Forbidden(ThreadlineError):
    status_code = 403


class NotFound(ThreadlineError):
    status_code = 404


class Conflict(ThreadlineError):
    status_code = 409


class Gone(ThreadlineError):
    """What was asked for existed once and is no longer kept (e.g. events older than the log's retention)."""

    status_code = 410


class PayloadTooLarge(ThreadlineError):
    """A body larger than the route takes at all (e.g. Lambda's request payload limit)."""

    status_code = 413


class PreconditionFailed(ThreadlineError):
    """An If-Match that no longer matches: somebody changed the resource since the client read it."""

    status_code = 412


class UpstreamFailure(ThreadlineError):
    status_code = 502


class UnprocessableRequest(ThreadlineError):
    """Well-formed but not acceptable as sent (e.g. an Idempotency-Key reused for a different request)."""

    status_code = 422


class ReplyNotProduced(ThreadlineError):
    """The session capture's failed reply: the user message is stored, but no assistant message could be produced
    or saved. The contract answers it as a 500 that still carries the stored user message."""

    status_code = 500

    def __init__(self, message: str, *, user_message: Any) -> None:
        super().__init__(message)
        self.user_message = user_message  # threadline.models.sessions.SessionMessage


def error_for_status(
    status_code: int, message: str, *, details: str | None = None, fields: dict[str, Any] | None = None
) -> ThreadlineError:
    """Rebuild an error recorded earlier (an idempotent replay answers exactly what the first attempt did)."""
    for error_class in (
        InvalidRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PreconditionFailed,
        UnprocessableRequest,
        UpstreamFailure,
    ):
        if error_class.status_code == status_code:
            return error_class(message, details=details, fields=fields)
    return ThreadlineError(message, details=details, fields=fields)
