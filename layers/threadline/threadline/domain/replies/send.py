"""Sending a reply on a conversation's channel: its reply rule, the channel's answer, and neither losing nor
doubling a message. The channel itself is an adapter (threadline.channels): the conversation route names none.
The seed's contact route (`POST /api/messages/send`, `send_to_recipient`) is the exception, by its contract: it
addresses a phone number, not a conversation, and sends on WhatsApp (CONTACT_ROUTE_PLATFORM).

The order of events for one send:
1. In one transaction: claim the Idempotency-Key (if given), check the recipient and the conversation's reply rule
   (its window, its cap on replies), write the outbound message as `pending`. Any refusal rolls all of it back:
   nothing is written, the channel is not called.
2. Ask the channel, outside any transaction. Our message's external id travels with it (to Meta as
   `biz_opaque_callback_data`), so the channel's status reports can find the row even if step 3 never happens.
3. In a second transaction: mark the message sent (with the channel's id) or failed (with its code and title), and
   record the response under the Idempotency-Key for retries to replay.
If the database is down at step 3 after the channel accepted, the write is retried until the deadline, then the
client is told the message was sent (with a warning) and the status report completes the row later.
A channel that delivers after the request (a connector's callback) stages its delivery in step 1's transaction and
answers `Queued` at step 2: the client gets the message `pending`, and the channel's answer moves it later.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import psycopg

from threadline.caller import Caller
from threadline.channels import Channel, channel_for, effective_reply_rule
from threadline.channels.base import (
    ChannelRoute,
    MediaContent,
    NotSent,
    OutboundContent,
    OutboundMessage,
    OutcomeUnknown,
    Queued,
    Refused,
    SendTarget,
    Sent,
    TemplateContent,
    WindowClosed,
)
from threadline.channels.whatsapp.keys import whatsapp_conversation_key
from threadline.db.errors import StorageError, StorageUnavailable
from threadline.db.repositories.idempotency import (
    IdempotencyRecord,
    attach_message_to_key,
    claim_idempotency_key,
    complete_idempotency_key,
    release_idempotency_key,
)
from threadline.db.repositories.sending import (
    ConversationForSend,
    OutboundMessageRow,
    PendingMessage,
    ReplyWindowState,
    conversation_exists,
    ensure_whatsapp_conversation,
    expire_conversation_window,
    find_contact_for_recipient,
    find_conversation_for_send,
    find_reply_target,
    find_whatsapp_route,
    give_back_reply,
    insert_pending_message,
    mark_message_failed,
    mark_message_sent,
    note_message_outcome_unknown,
)
from threadline.db.tenancy import run_in_transaction
from threadline.domain.inbox.read_receipts import send_read_receipt_after_reply
from threadline.domain.media.uploads import (
    UploadedFile,
    find_sendable_upload,
    keep_uploaded_file,
    read_upload,
    uploaded_file_link,
)
from threadline.domain.replies.replay import error_record, message_view, replay
from threadline.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    ThreadlineError,
    UpstreamFailure,
)
from threadline.identifiers import normalise_identifier
from threadline.models.ids import parse_id
from threadline.models.sending import (
    ConversationSendRequest,
    SendRequest,
    SendResponse,
)
from threadline.observability import logger
from threadline.realtime.frames import MessageEventKind, outbound_message
from threadline.realtime.publisher import ExpiredWindow, publish_message_event, publish_window_expiries
from threadline.vocabulary import THREADLINE_EXTERNAL_ID_PREFIX, MediaType, Platform

WINDOW_EXPIRED_MESSAGE = "Session window expired"
SOURCE = "manual_ui"
# Time kept back from the Lambda deadline for recording the channel's answer after the call.
RECORDING_RESERVE_SECONDS = 3.0
MAX_IDEMPOTENCY_KEY_CHARS = 255
# The status recorded under an Idempotency-Key for a send that went out (errors record their own); the route
# answers a replay with its own success status.
SENT_STATUS = 200

_MEDIA_MESSAGE_TYPES = {"image": "image", "video": "video", "audio": "audio", "document": "file"}


@dataclass(frozen=True)
class _Plan:
    """A checked send: the row to write, the channel that carries it, and what to hand that channel."""

    channel: Channel
    route: ChannelRoute
    content: OutboundContent
    message: PendingMessage


@dataclass(frozen=True)
class _Prepared:
    plan: _Plan
    row: OutboundMessageRow
    outbound: OutboundMessage


def reply_cap_message(max_replies: int) -> str:
    return (
        f"Reply limit reached: this channel allows {max_replies} replies per window; "
        "the customer's next message opens a new window"
    )


def _require_reply_allowed(
    channel: Channel, platform: str, state: ReplyWindowState, *, is_template: bool = False
) -> None:
    """The conversation's own reply rule (its connection's, else its platform's): inside the window, and under the
    cap. A channel that lets templates out of the window (WhatsApp) still counts them against a cap."""
    rule = effective_reply_rule(
        platform,
        has_connection=state.has_connection,
        window_hours=state.reply_window_hours,
        max_replies=state.max_replies_per_window,
    )
    window = rule.window(
        expires_at=state.window_expires_at, replies_in_window=state.replies_in_window, now=datetime.now(UTC)
    )
    if window.status == "expired" and not (is_template and channel.templates_outside_window):
        raise InvalidRequest(WINDOW_EXPIRED_MESSAGE)
    if rule.max_replies is not None and state.replies_in_window >= rule.max_replies:
        raise InvalidRequest(reply_cap_message(rule.max_replies))


def _new_external_id() -> str:
    # Ours, not the channel's: it exists before the channel answers, and comes back to us in its status reports.
    return f"{THREADLINE_EXTERNAL_ID_PREFIX}{uuid.uuid4().hex}"


def send_target_of(conversation: ConversationForSend) -> SendTarget:
    """What a channel needs of the conversation to find its route (replies and reactions alike)."""
    return SendTarget(
        conversation_id=conversation.id,
        platform=conversation.platform,
        external_conversation_id=conversation.external_conversation_id,
        contact_identifier=conversation.contact_identifier,
        contact_phone_digits=conversation.contact_phone_digits,
        connection_id=conversation.connection_id,
        phone_number_id=conversation.phone_number_id,
        connection_uuid=conversation.connection_uuid,
        outbound_url=conversation.outbound_url,
        contact_platform_user_id=conversation.contact_whatsapp_user_id,
    )


def _fingerprint(route: str, request: SendRequest | ConversationSendRequest) -> str:
    # Of the parsed request, not its bytes: the same request sent with other spacing or key order is the same send.
    return hashlib.sha256(f"{route}\n{request.model_dump_json()}".encode()).hexdigest()


def _checked_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters")
    return key


# The seed's contact route sends a WhatsApp text to a phone number (docs/send-message-api.md).
CONTACT_ROUTE_PLATFORM: Platform = "whatsapp"


# ---------------------------------------------------------------------------------------------------------------
# The two routes: what each checks before a message may go out.
# ---------------------------------------------------------------------------------------------------------------


def send_to_recipient(
    *, caller: Caller, request: SendRequest, idempotency_key: str | None, remaining_ms: int
) -> SendResponse:
    """`POST /api/messages/send`: a WhatsApp text to a known contact, inside the window of the contact's WhatsApp
    conversation the customer wrote to last (a tenant with two numbers answers from the one written to)."""
    recipient = normalise_identifier(request.recipient)
    channel = channel_for(CONTACT_ROUTE_PLATFORM)

    def plan(conn: psycopg.Connection[Any]) -> _Plan:
        contact = find_contact_for_recipient(conn, identifier=recipient.identifier, phone_digits=recipient.phone_digits)
        if contact is None:
            raise NotFound("Contact not found")
        route = find_whatsapp_route(conn, contact.id, platform=CONTACT_ROUTE_PLATFORM)
        _require_reply_allowed(channel, CONTACT_ROUTE_PLATFORM, route)
        channel_route = channel.route(
            SendTarget(
                conversation_id=route.conversation_id,
                platform=CONTACT_ROUTE_PLATFORM,
                external_conversation_id=None,
                contact_identifier=contact.identifier,
                contact_phone_digits=contact.phone_digits,
                connection_id=None,
                phone_number_id=route.phone_number_id,
            )
        )
        conversation_id = route.conversation_id or ensure_whatsapp_conversation(
            conn,
            tenant_id=caller.tenant_id,
            connection_uuid=route.connection_uuid,
            platform=CONTACT_ROUTE_PLATFORM,
            external_conversation_id=whatsapp_conversation_key(channel_route.sender, channel_route.recipient),
            contact_id=contact.id,
        )
        return _Plan(
            channel=channel,
            route=channel_route,
            content=OutboundContent(text=request.body),
            message=PendingMessage(
                tenant_id=caller.tenant_id,
                conversation_id=conversation_id,
                external_id=_new_external_id(),
                type="text",
                content=request.body,
                media_url=None,
                media_filename=None,
                reply_to_external_id=None,
                author_user_id=caller.user_id,
                payload=None,
                source=SOURCE,
            ),
        )

    return _send(
        caller=caller,
        fingerprint=_fingerprint("POST /api/messages/send", request),
        idempotency_key=_checked_idempotency_key(idempotency_key),
        remaining_ms=remaining_ms,
        plan=plan,
    )


def send_to_conversation(
    *,
    caller: Caller,
    conversation_id: int,
    request: ConversationSendRequest,
    idempotency_key: str | None,
    remaining_ms: int,
) -> SendResponse:
    """`POST /api/v1/conversations/{id}/messages`: text, media or a template through the conversation's own channel
    and connection, by that connection's reply rule."""
    target_id = conversation_id
    # An agent's upload is read back and checked before anything is written (a 400 leaves nothing behind).
    uploaded = _uploaded_file(caller, request)

    def plan(conn: psycopg.Connection[Any]) -> _Plan:
        conversation = find_conversation_for_send(conn, target_id)
        if conversation is None:
            # The seed's rule: another tenant's conversation is 403, one that does not exist 404.
            raise Forbidden("Forbidden") if conversation_exists(conn, target_id) else NotFound("Conversation not found")
        channel = channel_for(conversation.platform)
        channel.check_can_send()
        if conversation.connection_is_active is False:
            raise InvalidRequest("This conversation's connection is inactive")
        _require_reply_allowed(channel, conversation.platform, conversation, is_template=request.template is not None)
        channel_route = channel.route(send_target_of(conversation))
        reply_to = _reply_target(conn, target_id, request.reply_to)
        columns, content = _conversation_message(request, reply_to=reply_to, uploaded=uploaded)
        return _Plan(
            channel=channel,
            route=channel_route,
            content=content,
            message=PendingMessage(
                tenant_id=caller.tenant_id,
                conversation_id=target_id,
                external_id=_new_external_id(),
                reply_to_external_id=reply_to,
                author_user_id=caller.user_id,
                source=SOURCE,
                **columns,
            ),
        )

    response = _send(
        caller=caller,
        fingerprint=_fingerprint(f"POST /api/v1/conversations/{target_id}/messages", request),
        idempotency_key=_checked_idempotency_key(idempotency_key),
        remaining_ms=remaining_ms,
        plan=plan,
    )
    if uploaded is not None:
        # The sent file is the message's kept medium: both message views list it with a presigned GET.
        keep_uploaded_file(caller.tenant_id, response.message.id, uploaded)
    return response


def _reply_target(conn: psycopg.Connection[Any], conversation_id: int, reply_to: str | None) -> str | None:
    if reply_to is None:
        return None
    no_such_message = "reply_to names no message in this conversation"
    if not reply_to.isdigit():  # also true of digits like "²", which the id parser refuses
        return reply_to  # the channel's own message id (a wamid) as the client knows it
    target = find_reply_target(
        conn, conversation_id, parse_id(reply_to, explanation=no_such_message, refuse=InvalidRequest)
    )
    if target is None:
        raise InvalidRequest(no_such_message)
    return target


def _uploaded_file(caller: Caller, request: ConversationSendRequest) -> UploadedFile | None:
    if request.media is None or request.media.upload_id is None:
        return None
    uploaded = read_upload(find_sendable_upload(caller.tenant_id, request.media.upload_id))
    if uploaded.upload.media_type == "audio" and (request.media.caption or request.content):
        raise InvalidRequest("audio messages cannot carry a caption")
    return uploaded


def _conversation_message(
    request: ConversationSendRequest, *, reply_to: str | None, uploaded: UploadedFile | None = None
) -> tuple[dict[str, Any], OutboundContent]:
    """The stored columns and the channel's content for the one kind of message the request carries."""
    if request.template is not None:
        template = request.template
        columns = {
            "type": "template",
            "content": f"Template {template.name} ({template.language})",
            "media_url": None,
            "media_filename": None,
            "payload": {"template": template.model_dump()},
        }
        content = OutboundContent(
            template=TemplateContent(template.name, template.language, template.components), reply_to=None
        )
        return columns, content
    if request.media is not None and uploaded is not None:
        caption = request.media.caption or request.content or None
        upload = uploaded.upload
        media_type = cast(MediaType, upload.media_type)
        upload_columns: dict[str, Any] = {
            "type": _MEDIA_MESSAGE_TYPES[media_type],
            "content": caption or "",
            "media_url": None,  # the kept medium lists it (a presigned GET per read)
            "media_filename": upload.file_name,
            "payload": {"upload_id": str(upload.id)},
        }
        media_content = MediaContent(
            media_type,
            uploaded_file_link(uploaded),
            upload.file_name,
            content=uploaded.content,
            mime_type=upload.mime_type,
        )
        return upload_columns, OutboundContent(text=caption, media=media_content, reply_to=reply_to)
    if request.media is not None:
        media = request.media
        assert media.type is not None and media.url is not None  # the model's rule: a link or an upload
        caption = media.caption or request.content or None
        columns = {
            "type": _MEDIA_MESSAGE_TYPES[media.type],
            "content": caption or "",
            "media_url": media.url,
            "media_filename": media.filename,
            "payload": None,
        }
        content = OutboundContent(
            text=caption, media=MediaContent(media.type, media.url, media.filename), reply_to=reply_to
        )
        return columns, content
    assert request.content is not None
    columns = {"type": "text", "content": request.content, "media_url": None, "media_filename": None, "payload": None}
    return columns, OutboundContent(text=request.content, reply_to=reply_to)


# ---------------------------------------------------------------------------------------------------------------
# The send itself, shared by both routes.
# ---------------------------------------------------------------------------------------------------------------


def _send(
    *,
    caller: Caller,
    fingerprint: str,
    idempotency_key: str | None,
    remaining_ms: int,
    plan: Callable[[psycopg.Connection[Any]], _Plan],
) -> SendResponse:
    deadline = time.monotonic() + remaining_ms / 1000
    meta_deadline = deadline - RECORDING_RESERVE_SECONDS

    def claim_check_and_record(conn: psycopg.Connection[Any]) -> _Prepared | IdempotencyRecord:
        if idempotency_key is not None:
            earlier = claim_idempotency_key(
                conn, tenant_id=caller.tenant_id, key=idempotency_key, fingerprint=fingerprint
            )
            if earlier is not None:
                return earlier
        checked = plan(conn)
        row = insert_pending_message(conn, checked.message)
        outbound = OutboundMessage(
            message_id=row.id,
            external_id=row.external_id,
            conversation_id=row.conversation_id,
            route=checked.route,
            content=checked.content,
            tenant_id=caller.tenant_id,
            type=row.type,
        )
        # What the channel must commit with the message (a connector's delivery), or its refusal (all rolls back).
        checked.channel.stage(conn, outbound)
        if idempotency_key is not None:
            attach_message_to_key(conn, idempotency_key, row.id)
        return _Prepared(checked, row, outbound)

    prepared = run_in_transaction(claim_check_and_record, tenant_id=caller.tenant_id, actor=caller)
    if isinstance(prepared, IdempotencyRecord):
        assert idempotency_key is not None
        return replay(caller, idempotency_key, fingerprint, prepared, deadline=meta_deadline)
    # Committed as pending: the agents watching the conversation see it before Meta answers.
    publish_message_event(caller.tenant_id, "created", outbound_message(prepared.row))
    return _deliver(caller, prepared, idempotency_key, meta_deadline=meta_deadline, deadline=deadline)


def _deliver(
    caller: Caller,
    prepared: _Prepared,
    idempotency_key: str | None,
    *,
    meta_deadline: float,
    deadline: float,
) -> SendResponse:
    plan, row = prepared.plan, prepared.row
    provider = plan.channel.provider
    outcome = plan.channel.send(prepared.outbound, deadline=meta_deadline)
    if isinstance(outcome, Queued):
        return _record_queued(caller, row, idempotency_key, deadline=deadline)
    if isinstance(outcome, WindowClosed):
        # The channel knows better than our clock: the window is closed. Say so exactly as when we knew it ourselves.
        expired = InvalidRequest(WINDOW_EXPIRED_MESSAGE)
        _record_failure(caller, row, outcome, idempotency_key, expired, close_window=True)
        raise expired
    if isinstance(outcome, Refused):
        refusal = UpstreamFailure(
            f"{provider} refused the message: {outcome.title}",
            details=outcome.details,
            fields={"code": outcome.code, "title": outcome.title, "details": outcome.details},
        )
        _record_failure(caller, row, outcome, idempotency_key, refusal)
        raise refusal
    if isinstance(outcome, OutcomeUnknown):
        unconfirmed_title = outcome.title
        # The channel may have sent it. Keep the message pending for its status report, and make retries with this
        # Idempotency-Key replay this answer instead of sending a second copy.
        unknown = UpstreamFailure(
            f"{provider} did not confirm the message; it may still be delivered. Do not resend it: its status will "
            "update",
            details=outcome.details,
            fields={"message_id": row.id},
        )
        _record_outcome(
            caller,
            lambda conn: note_message_outcome_unknown(conn, row.id, title=unconfirmed_title),
            idempotency_key,
            unknown,
            message_id=row.id,
            event="updated",
            deadline=deadline,
        )
        raise unknown
    if isinstance(outcome, NotSent):
        # Nothing went out: the key is released so that a retry may send.
        _record_failure(caller, row, outcome, idempotency_key, None)
        raise UpstreamFailure(outcome.explanation, details=outcome.explanation_details)
    return _record_sent(caller, row, outcome, idempotency_key, deadline=deadline)


def _record_sent(
    caller: Caller, row: OutboundMessageRow, sent: Sent, idempotency_key: str | None, *, deadline: float
) -> SendResponse:
    def record_sent(conn: psycopg.Connection[Any]) -> tuple[SendResponse, OutboundMessageRow]:
        completed = mark_message_sent(conn, row.id, sent.external_id)
        response = SendResponse(message=message_view(completed), meta_id=sent.external_id)
        if idempotency_key is not None:
            complete_idempotency_key(
                conn, idempotency_key, response_status=SENT_STATUS, response_body=response.model_dump(mode="json")
            )
        return response, completed

    try:
        sent_response, completed = _with_retries(
            lambda: run_in_transaction(record_sent, tenant_id=caller.tenant_id, actor=caller), deadline=deadline
        )
    except StorageError:
        # The channel accepted the message: it must not be reported as failed, or the agent will send it again. The
        # row is completed from the channel's status report (which carries our external id).
        logger.error(
            "message sent but not recorded",
            extra={"message_id": row.id, "external_id": row.external_id, "meta_id": sent.external_id},
        )
        return SendResponse(
            message=message_view(row).model_copy(update={"status": "sent", "meta_id": sent.external_id}),
            meta_id=sent.external_id,
            warning="Message sent, but its record could not be updated yet; Meta's status webhook will complete it",
        )
    publish_message_event(caller.tenant_id, "status", outbound_message(completed))
    # The agent answered, so the customer's messages are read (when the tenant sends read receipts; never raises).
    send_read_receipt_after_reply(caller.tenant_id, completed.conversation_id)
    return sent_response


def _record_queued(
    caller: Caller, row: OutboundMessageRow, idempotency_key: str | None, *, deadline: float
) -> SendResponse:
    """The channel delivers after this request: the answer is the pending message, and a retry with the key gets
    this same answer (the message is not staged twice)."""
    response = SendResponse(message=message_view(row), meta_id=None)
    if idempotency_key is None:
        return response
    try:
        _with_retries(
            lambda: run_in_transaction(
                lambda conn: complete_idempotency_key(
                    conn, idempotency_key, response_status=SENT_STATUS, response_body=response.model_dump(mode="json")
                ),
                tenant_id=caller.tenant_id,
                actor=caller,
            ),
            deadline=deadline,
        )
    except StorageError:
        # The message and its delivery committed; a retry with the key is told it is in progress, then confirmed.
        logger.exception("could not record a queued send's answer", extra={"message_id": row.id})
    return response


def _record_failure(
    caller: Caller,
    row: OutboundMessageRow,
    failure: WindowClosed | Refused | NotSent,
    idempotency_key: str | None,
    answer: ThreadlineError | None,
    *,
    close_window: bool = False,
) -> None:
    """Mark the message failed with the channel's code and title, and give its place in the window's count of
    replies back (it was not sent). With an `answer`, retries with the key replay it; without one the key is
    released, because nothing reached the channel and a retry may try again."""
    closed_at: list[datetime] = []

    def mark_failed(conn: psycopg.Connection[Any]) -> OutboundMessageRow:
        failed = mark_message_failed(conn, row.id, code=failure.code, title=failure.title, details=failure.details)
        give_back_reply(conn, row.id)
        if close_window:
            closed = expire_conversation_window(conn, row.conversation_id)
            closed_at[:] = [closed] if closed is not None else []
        return failed

    recorded = _record_outcome(caller, mark_failed, idempotency_key, answer, message_id=row.id, event="status")
    if recorded and closed_at:
        publish_window_expiries(caller.tenant_id, [ExpiredWindow(row.conversation_id, row.contact_id, closed_at[0])])


def _record_outcome(
    caller: Caller,
    update: Callable[[psycopg.Connection[Any]], object],
    idempotency_key: str | None,
    answer: ThreadlineError | None,
    *,
    message_id: int,
    event: MessageEventKind,
    deadline: float | None = None,
) -> bool:
    """Record what became of a send; True when it was recorded (and announced to the conversation's subscribers
    when `update` returns the message)."""

    def record(conn: psycopg.Connection[Any]) -> object:
        updated = update(conn)
        if idempotency_key is None:
            return updated
        if answer is None:
            release_idempotency_key(conn, idempotency_key)
        else:
            complete_idempotency_key(
                conn, idempotency_key, response_status=answer.status_code, response_body=error_record(answer)
            )
        return updated

    try:
        updated = _with_retries(
            lambda: run_in_transaction(record, tenant_id=caller.tenant_id, actor=caller),
            deadline=deadline or time.monotonic() + RECORDING_RESERVE_SECONDS,
        )
    except StorageError:
        # The client still gets the true answer; the message stays pending and the key unfinished (a retry with
        # it is told the outcome is unknown rather than sending again).
        logger.exception("could not record the outcome of a send", extra={"message_id": message_id})
        return False
    if isinstance(updated, OutboundMessageRow):
        publish_message_event(caller.tenant_id, event, outbound_message(updated))
    return True


_RECORDING_BACKOFF_SECONDS = (0.1, 0.3, 0.6, 1.0)


def _with_retries(write: Callable[[], Any], *, deadline: float) -> Any:
    """Retry a recording write (each attempt already retries a dropped connection) while time remains: after
    Meta has acted, giving up on the record is the last resort."""
    for pause in _RECORDING_BACKOFF_SECONDS:
        try:
            return write()
        except StorageUnavailable:
            if time.monotonic() + pause >= deadline:
                raise
            logger.warning("recording a send failed; retrying", extra={"pause_seconds": pause})
            time.sleep(pause)
    return write()
