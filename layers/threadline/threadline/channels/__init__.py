"""Channels: one adapter per messaging platform behind one sending interface (threadline.channels.base).

`channel_for(platform)` is the one registry the send path and the reply rules consult; a new channel is one new
adapter registered here, not edits across the send path.
"""

from __future__ import annotations

from threadline.channels.base import NO_RULE, Channel, MarksRead, ReplyRule
from threadline.channels.connector import ConnectorCallbackChannel
from threadline.channels.whatsapp.adapter import WhatsAppChannel
from threadline.errors import InvalidRequest

_CHANNELS: dict[str, Channel] = {}


def register_channel(channel: Channel) -> None:
    _CHANNELS[channel.platform] = channel


def channel_for(platform: str) -> Channel:
    channel = _CHANNELS.get(platform)
    if channel is None:
        raise InvalidRequest(f"Sending to {platform} conversations is not supported")
    return channel


def default_reply_rule(platform: str) -> ReplyRule:
    """The platform's rule for a conversation without a connection (and a new connection's starting rule)."""
    channel = _CHANNELS.get(platform)
    return channel.default_reply_rule if channel is not None else NO_RULE


def platforms_confirming_sends() -> list[str]:
    """The platforms whose sends the provider confirms by a later status (see Channel.confirms_sends)."""
    return sorted(platform for platform, channel in _CHANNELS.items() if channel.confirms_sends)


def find_channel(platform: str) -> Channel | None:
    """The platform's channel, or None when Threadline sends nothing on it."""
    return _CHANNELS.get(platform)


def effective_reply_rule(
    platform: str, *, has_connection: bool, window_hours: int | None, max_replies: int | None
) -> ReplyRule:
    """A conversation follows its connection's rule; without a connection, its platform's default."""
    if has_connection:
        return ReplyRule(window_hours=window_hours, max_replies=max_replies)
    return default_reply_rule(platform)


register_channel(WhatsAppChannel())
# Official Account rule: 48 hours after the follower's last message, at most 5 replies in that time.
register_channel(ConnectorCallbackChannel("wechat", ReplyRule(window_hours=48, max_replies=5)))
register_channel(ConnectorCallbackChannel("telegram", NO_RULE))
register_channel(ConnectorCallbackChannel("signal", NO_RULE))

__all__ = [
    "Channel",
    "MarksRead",
    "ReplyRule",
    "channel_for",
    "default_reply_rule",
    "effective_reply_rule",
    "find_channel",
    "platforms_confirming_sends",
    "register_channel",
]
