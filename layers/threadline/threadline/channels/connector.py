"""Connector channels (Signal, Telegram, WeChat): replies go back through the connector's own callback.

The registration point for the connector-callback adapter: today it answers the clear 400 it always did, before
anything is written. The adapter that delivers a reply to the connection's `outbound_url` (a signed
`message.outbound` delivery through the webhook machinery) replaces `check_can_send`, `route` and `send` here; the
send path needs no other change. Its reply rules are already the channels': WeChat 48 hours and 5 replies per
window, Telegram and Signal none.
"""

from __future__ import annotations

from dataclasses import dataclass

from threadline.channels.base import ChannelRoute, OutboundMessage, ReplyRule, SendOutcome, SendTarget
from threadline.errors import InvalidRequest
from threadline.vocabulary import Platform


@dataclass(frozen=True)
class ConnectorCallbackChannel:
    platform: Platform
    default_reply_rule: ReplyRule
    provider: str = "The connector"
    templates_outside_window: bool = False

    def check_can_send(self) -> None:
        raise InvalidRequest(
            f"Sending to {self.platform} conversations is not supported yet; only WhatsApp can be sent to"
        )

    def route(self, target: SendTarget) -> ChannelRoute:
        self.check_can_send()
        raise AssertionError("unreachable")  # pragma: no cover

    def send(self, message: OutboundMessage, *, deadline: float) -> SendOutcome:
        self.check_can_send()
        raise AssertionError("unreachable")  # pragma: no cover
