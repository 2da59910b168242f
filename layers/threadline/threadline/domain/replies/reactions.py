"""An agent's reaction on a message: `PUT /v1/conversations/{id}/messages/{message_id}/reaction`.

The business has one reaction per message (WhatsApp keeps one per sender), whichever agent gives it; `""` takes it
away. It goes out on the conversation's channel when the channel can carry reactions (WhatsApp, through Meta), inside
the conversation's reply window (a reaction is a free-form message to Meta; it does not count against a cap on
replies), and is recorded only once the channel accepted it: a refusal changes nothing. The order of events:
1. In a transaction: check the conversation, the message and the window (any refusal: nothing written, no call).
2. Ask the channel, outside any transaction.
3. In a second transaction: record the reaction (its trigger appends `message.reactions_changed`); then push the
   `message_reactions` frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from threadline.caller import Caller
from threadline.channels import channel_for, effective_reply_rule
from threadline.channels.base import (
    ChannelRoute,
    NotSent,
    OutcomeUnknown,
    Queued,
    Refused,
    SendsReactions,
    Sent,
    WindowClosed,
)
from threadline.db.repositories.reactions import (
    ReactionTarget,
    find_reaction_target,
    reactions_of,
    set_business_reaction,
)
from threadline.db.repositories.sending import conversation_exists, find_conversation_for_send
from threadline.db.tenancy import run_in_transaction
from threadline.domain.replies.send import send_target_of
from threadline.errors import Forbidden, InvalidRequest, NotFound, UpstreamFailure
from threadline.models.messages import MessageReactions, Reaction, ReactionRequest
from threadline.realtime.publisher import publish_reactions

WINDOW_EXPIRED_MESSAGE = "Session window expired"
MESSAGE_NOT_FOUND = "Message not found"
NO_REACTIONS_MESSAGE = "Reactions can only be sent on WhatsApp conversations"
# Time kept back from the Lambda deadline for recording the channel's answer after the call.
RECORDING_RESERVE_SECONDS = 3.0


@dataclass(frozen=True)
class _Checked:
    channel: SendsReactions
    provider: str
    route: ChannelRoute
    target: ReactionTarget
    message_external_id: str


def _check(conn: psycopg.Connection[Any], conversation_id: int, message_id: int) -> _Checked:
    conversation = find_conversation_for_send(conn, conversation_id)
    if conversation is None:
        # As the send route: another tenant's conversation is 403, one that does not exist 404.
        raise (
            Forbidden("Forbidden") if conversation_exists(conn, conversation_id) else NotFound("Conversation not found")
        )
    channel = channel_for(conversation.platform)
    if not isinstance(channel, SendsReactions):
        raise InvalidRequest(NO_REACTIONS_MESSAGE)
    provider = channel.provider
    target = find_reaction_target(conn, conversation_id, message_id)
    if target is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    if target.is_private or target.is_system:
        raise InvalidRequest("Only messages the customer sent or received can be reacted to")
    if not target.meta_id:
        raise InvalidRequest("This message has no WhatsApp id yet, so it cannot be reacted to")
    if conversation.connection_is_active is False:
        raise InvalidRequest("This conversation's connection is inactive")
    rule = effective_reply_rule(
        conversation.platform,
        has_connection=conversation.has_connection,
        window_hours=conversation.reply_window_hours,
        max_replies=conversation.max_replies_per_window,
    )
    window = rule.window(
        expires_at=conversation.window_expires_at,
        replies_in_window=conversation.replies_in_window,
        now=datetime.now(UTC),
    )
    if window.status == "expired":
        raise InvalidRequest(WINDOW_EXPIRED_MESSAGE)
    route = channel.route(send_target_of(conversation))
    return _Checked(channel, provider, route, target, target.meta_id)


def react_to_message(
    *, caller: Caller, conversation_id: int, message_id: int, request: ReactionRequest, remaining_ms: int
) -> MessageReactions:
    deadline = time.monotonic() + remaining_ms / 1000 - RECORDING_RESERVE_SECONDS
    checked = run_in_transaction(lambda conn: _check(conn, conversation_id, message_id), tenant_id=caller.tenant_id)
    outcome = checked.channel.send_reaction(
        checked.route, message_external_id=checked.message_external_id, emoji=request.emoji, deadline=deadline
    )
    if isinstance(outcome, WindowClosed):
        raise InvalidRequest(WINDOW_EXPIRED_MESSAGE)
    if isinstance(outcome, Refused):
        raise UpstreamFailure(
            f"{checked.provider} refused the reaction: {outcome.title}",
            details=outcome.details,
            fields={"code": outcome.code, "title": outcome.title, "details": outcome.details},
        )
    if isinstance(outcome, NotSent):
        raise UpstreamFailure(
            outcome.explanation.replace("the message", "the reaction"), details=outcome.explanation_details
        )
    if isinstance(outcome, OutcomeUnknown | Queued):
        # Not recorded: shown only once the channel says it took it. Sending the same reaction again is harmless.
        raise UpstreamFailure(
            f"{checked.provider} did not confirm the reaction; send it again to be sure",
            details=outcome.details if isinstance(outcome, OutcomeUnknown) else None,
        )
    assert isinstance(outcome, Sent)
    sent_id = outcome.external_id

    def record(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
        set_business_reaction(
            conn,
            tenant_id=caller.tenant_id,
            target=checked.target,
            emoji=request.emoji or None,
            user_id=caller.user_id,
            meta_id=sent_id,
        )
        return reactions_of(conn, checked.target.id)

    reactions = run_in_transaction(record, tenant_id=caller.tenant_id, actor=caller)
    publish_reactions(caller.tenant_id, [checked.target.id])
    return MessageReactions(
        conversation_id=conversation_id,
        message_id=checked.target.id,
        reactions=[Reaction.model_validate(reaction) for reaction in reactions],
    )
