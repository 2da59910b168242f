"""The one sending interface every channel speaks, and the reply rule each channel sets.

A channel adapter (WhatsApp through Meta, a connector's callback, the next one) is asked four things by the send
path in threadline/domain/replies/send.py, which knows no channel by name:
- `check_can_send()`: may this channel be sent to at all (else a clear refusal, before anything is written);
- `route(target)`: who sends and who receives on this channel (a refusal names what is missing);
- `stage(conn, message)`: in the transaction that writes the pending message, write what the channel needs to commit
  with it (a connector's signed delivery), or refuse it (rolling all of it back);
- `send(message, deadline=...)`: deliver it, answering with one channel-neutral `SendOutcome`. An adapter never
  raises for what its provider answered: it translates the provider's errors into these outcomes, so the send path
  records every channel's failures the same way (the message row, the Idempotency-Key, the real-time frames). A
  channel that delivers after the request (a connector's callback, retried for 24 hours) answers `Queued`: the
  message stays pending until the channel's answer or status report moves it.

A reply rule is a channel's: how long after the customer's last message a free reply may go out (the window), and
how many replies may go out per window (the cap). The adapter holds its platform's default; each connection may
change it (connections.reply_window_hours / max_replies_per_window, migration 0018), and a conversation follows its
own connection's rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable
from uuid import UUID

import psycopg

from threadline.vocabulary import MediaType, Platform

WindowStatus = Literal["open", "expired", "none"]


@dataclass(frozen=True)
class ReplyWindow:
    """A conversation's window as a reader sees it now: `none` when its rule has no window; `replies_left` only
    when the rule caps replies."""

    status: WindowStatus
    expires_at: datetime | None
    replies_left: int | None


@dataclass(frozen=True)
class ReplyRule:
    """None is "no limit": no window (a reply may always go out), no cap on replies per window."""

    window_hours: int | None
    max_replies: int | None

    def window(self, *, expires_at: datetime | None, replies_in_window: int, now: datetime) -> ReplyWindow:
        if self.window_hours is None:
            status: WindowStatus = "none"
        else:
            status = "open" if expires_at is not None and expires_at > now else "expired"
        replies_left = None
        if self.max_replies is not None:
            replies_left = 0 if status == "expired" else max(self.max_replies - replies_in_window, 0)
        return ReplyWindow(
            status=status, expires_at=expires_at if status != "none" else None, replies_left=replies_left
        )


NO_RULE = ReplyRule(window_hours=None, max_replies=None)


# ---------------------------------------------------------------------------------------------------------------
# What is sent, and to whom.
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendTarget:
    """What the send path knows of a conversation before it may send: enough for a channel to find its route."""

    conversation_id: int | None
    platform: Platform
    external_conversation_id: str | None
    contact_identifier: str | None
    contact_phone_digits: str | None
    connection_id: str | None
    phone_number_id: str | None
    # The connection's own id, and where it takes replies (a connector's callback URL), when it has them.
    connection_uuid: UUID | None = None
    outbound_url: str | None = None
    # The contact's id on the platform when it has no phone number there (WhatsApp: the business-scoped user id of
    # a customer who hides their number behind a username).
    contact_platform_user_id: str | None = None


@dataclass(frozen=True)
class ChannelRoute:
    """Who sends on the channel (WhatsApp: the business number's id; a connector: its connection_id) and who
    receives (WhatsApp: the wa_id; a connector: the participant). `thread` is the platform's conversation for
    channels that address one, `connection` the connection that carries the message when the channel delivers
    through it."""

    sender: str
    recipient: str
    thread: str | None = None
    connection: UUID | None = None


@dataclass(frozen=True)
class MediaContent:
    type: MediaType
    # A link the channel (or the provider) fetches; for an agent's upload, a presigned GET of the private bucket.
    url: str
    filename: str | None = None
    # An agent's upload, read and checked: a channel that takes files (WhatsApp: POST /{phone-number-id}/media)
    # sends these bytes instead of the link.
    content: bytes | None = field(default=None, repr=False)
    mime_type: str | None = None


@dataclass(frozen=True)
class TemplateContent:
    name: str
    language: str
    components: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class OutboundContent:
    """One message's content, whichever channel carries it: a text, a media item (with an optional caption in
    `text`), or a template."""

    text: str | None = None
    media: MediaContent | None = None
    template: TemplateContent | None = None
    reply_to: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    """A message written `pending`, ready for its channel. `external_id` is Threadline's own id for it, which a
    channel echoes back in its later statuses."""

    message_id: int
    external_id: str
    conversation_id: int
    route: ChannelRoute
    content: OutboundContent
    tenant_id: UUID
    # As stored and shown: text, image, video, audio, file, template.
    type: str


# ---------------------------------------------------------------------------------------------------------------
# What became of a send: channel-neutral outcomes.
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """The channel accepted the message; `external_id` is its id there (WhatsApp: the wamid)."""

    external_id: str


@dataclass(frozen=True)
class WindowClosed:
    """The channel says the reply window is closed, whatever our clock says."""

    code: int | None
    title: str
    details: str | None = None


@dataclass(frozen=True)
class Refused:
    """The channel answered and refused this message: it was not sent."""

    code: int | None
    title: str
    details: str | None = None


@dataclass(frozen=True)
class NotSent:
    """Certainly not sent (the channel could not be reached, or cannot be used: not configured), so a retry may
    send. `code`, `title` and `details` are recorded on the message; `explanation` (with `explanation_details`)
    is what the client is told."""

    code: int | None
    title: str
    details: str | None
    explanation: str
    explanation_details: str | None = None


@dataclass(frozen=True)
class OutcomeUnknown:
    """The channel may have taken the message (timeout, 5xx, garbled reply): it stays pending for the channel's
    own status report, and must not be resent."""

    title: str
    details: str | None = None


@dataclass(frozen=True)
class Queued:
    """The channel took the message for delivery after this request (it was staged with the pending message): it
    stays pending until the channel's answer or status report moves it."""


SendOutcome = Sent | WindowClosed | Refused | NotSent | OutcomeUnknown | Queued


@runtime_checkable
class MarksRead(Protocol):
    """An optional capability: the channel can tell the customer their messages were read (WhatsApp's blue ticks).
    Marking one message marks every earlier one with it."""

    def mark_read(self, *, sender: str | None, message_external_id: str, deadline: float) -> None:
        """Raise whatever the provider's failure is; the caller (threadline.domain.inbox.read_receipts) never lets
        it fail an agent's request."""
        ...


@runtime_checkable
class SendsReactions(Protocol):
    """An optional capability: the channel can put the business's reaction on a message (WhatsApp's emoji
    reactions), or take it away (an empty emoji)."""

    def send_reaction(
        self, route: ChannelRoute, *, message_external_id: str, emoji: str, deadline: float
    ) -> SendOutcome: ...


class Channel(Protocol):
    """One messaging channel behind the send path."""

    @property
    def platform(self) -> Platform: ...

    @property
    def provider(self) -> str:
        """Who answers a send, as the client's error texts name it ("Meta")."""
        ...

    @property
    def default_reply_rule(self) -> ReplyRule: ...

    @property
    def templates_outside_window(self) -> bool:
        """Whether a template may go out when the window is closed (WhatsApp: that is how a business re-opens)."""
        ...

    @property
    def confirms_sends(self) -> bool:
        """Whether the provider confirms each accepted send with a status it pushes later (Meta's status
        webhooks): a send of such a channel still pending long after its answer was lost is failed by the
        scheduled run (threadline.domain.replies.expiry). A channel that answers `Queued` decides its sends through
        its own delivery instead."""
        ...

    def check_can_send(self) -> None:
        """Raise InvalidRequest when nothing can be sent on this channel."""
        ...

    def route(self, target: SendTarget) -> ChannelRoute:
        """Raise InvalidRequest when the conversation lacks what the channel needs to address it."""
        ...

    def stage(self, conn: psycopg.Connection[Any], message: OutboundMessage) -> None:
        """In the pending message's transaction: write what must commit with it, or raise InvalidRequest."""
        ...

    def send(self, message: OutboundMessage, *, deadline: float) -> SendOutcome: ...
