"""Answering a retried send: a request that repeats an Idempotency-Key gets the first attempt's answer, never a
second message (docs/send-message-api.md, "Retries").

The first attempt records its answer under the key (threadline.domain.replies.send). A retry with the same key and
the same request waits a little for a first attempt still in flight, then answers what it answered; a first attempt
that died before recording is answered from the message itself when its channel has confirmed it since, else 409.
The same key with a different request is a 422.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from threadline.caller import Caller
from threadline.db.repositories.idempotency import IdempotencyRecord, find_idempotency_record
from threadline.db.repositories.sending import OutboundMessageRow, find_outbound_message
from threadline.db.tenancy import run_in_transaction
from threadline.errors import Conflict, ThreadlineError, UnprocessableRequest, UpstreamFailure, error_for_status
from threadline.models.sending import MessageError, OutboundMessageView, SendResponse
from threadline.vocabulary import SENT_STATUSES

# How long a retry waits for an in-flight first attempt with the same Idempotency-Key before answering 409.
IN_FLIGHT_WAIT_SECONDS = 10.0
_IN_FLIGHT_POLL_SECONDS = 0.1
# Longer than any function may run (API Gateway stops waiting after 30 s).
ABANDONED_CLAIM_AFTER = timedelta(seconds=60)


def message_view(row: OutboundMessageRow) -> OutboundMessageView:
    """The send routes' message, as the first answer and every replay show it."""
    error = MessageError(code=row.error_code, title=row.error_title) if row.status == "failed" else None
    return OutboundMessageView(
        id=row.id,
        conversation_id=row.conversation_id,
        contact_id=str(row.contact_id),
        type=row.type,
        content=row.content,
        media_url=row.media_url,
        status=row.status,
        source=row.source,
        meta_id=row.meta_id,
        reply_to=row.reply_to_external_id,
        sent_at=row.sent_at,
        created_at=row.created_at,
        error=error,
    )


def error_record(error: ThreadlineError) -> dict[str, Any]:
    """An error answer as an Idempotency-Key records it (the replay raises it again)."""
    return {"error": {"message": error.message, "details": error.details, "fields": error.fields}}


def replay(caller: Caller, key: str, fingerprint: str, record: IdempotencyRecord, *, deadline: float) -> SendResponse:
    """Answer a retry exactly as the first attempt was answered, waiting for it if it is still in flight."""
    if record.request_fingerprint != fingerprint:
        raise UnprocessableRequest("This Idempotency-Key was already used for a different request")
    wait_until = min(deadline, time.monotonic() + IN_FLIGHT_WAIT_SECONDS)
    while _may_still_be_running(record) and time.monotonic() < wait_until:
        time.sleep(_IN_FLIGHT_POLL_SECONDS)
        current = run_in_transaction(lambda conn: find_idempotency_record(conn, key), tenant_id=caller.tenant_id)
        if current is None:
            # The first attempt reached nobody and released the key; this retry is now free to send.
            raise Conflict("The first request with this Idempotency-Key failed before sending; retry it")
        record = current
    if record.completed_at is None or record.response_status is None or record.response_body is None:
        return _unfinished_first_attempt(caller, record)
    stored = record.response_body
    if record.response_status == UpstreamFailure.status_code and record.message_id is not None:
        # "Meta did not confirm the message" was the first answer; Meta's status webhook may have confirmed it since.
        confirmed = _confirmed_send(caller, record.message_id)
        if confirmed is not None:
            return confirmed
    if record.response_status >= 400:
        error = stored.get("error") or {}
        raise error_for_status(
            record.response_status, error.get("message", ""), details=error.get("details"), fields=error.get("fields")
        )
    return SendResponse.model_validate(stored)


def _may_still_be_running(record: IdempotencyRecord) -> bool:
    # No attempt outlives the function's timeout: an older unfinished claim belongs to one that died.
    return record.completed_at is None and datetime.now(UTC) - record.created_at < ABANDONED_CLAIM_AFTER


def _unfinished_first_attempt(caller: Caller, record: IdempotencyRecord) -> SendResponse:
    """The first attempt is still running, or died before recording its answer. If Meta's status webhook has
    since confirmed its message, that is the answer; otherwise the outcome is not known yet."""
    if record.message_id is not None:
        confirmed = _confirmed_send(caller, record.message_id)
        if confirmed is not None:
            return confirmed
    raise Conflict("A request with this Idempotency-Key is still in progress; retry later")


def _confirmed_send(caller: Caller, message_id: int) -> SendResponse | None:
    """The send's success answer, when Meta has confirmed its message (sent, delivered or read); else None."""
    row = run_in_transaction(lambda conn: find_outbound_message(conn, message_id), tenant_id=caller.tenant_id)
    if row is None or row.status not in SENT_STATUSES:
        return None
    return SendResponse(message=message_view(row), meta_id=row.meta_id)
