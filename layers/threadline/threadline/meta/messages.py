"""Request bodies for POST /{phone-number-id}/messages, shaped exactly as Meta documents them.

The builders refuse what Meta would refuse anyway (an empty text, a caption on audio, a filename on anything but a
document, text over Meta's limits) with ValueError: by the time a payload is built, the request has been validated,
so reaching one of these is a bug, not bad input.
"""

from __future__ import annotations

import re
from typing import Any

from threadline.vocabulary import MediaType

MAX_TEXT_BODY_CHARS = 4096
MAX_CAPTION_CHARS = 1024
# Meta echoes `biz_opaque_callback_data` back in status webhooks and accepts at most 512 characters of it.
MAX_CALLBACK_DATA_CHARS = 512

_CAPTIONED: frozenset[str] = frozenset({"image", "document", "video"})


# A business-scoped user id starts with its ISO 3166 alpha-2 country code and a dot (`US.13491208655302741918`, a
# parent BSUID `US.ENT.11815799212886844830`); a phone number has no letters at all.
_BUSINESS_SCOPED_USER_ID = re.compile(r"^[A-Za-z]{2}\.")


def addressed_to(to: str) -> dict[str, str]:
    """Meta's addressing for a recipient: a phone number goes in `to`; a business-scoped user id (or parent BSUID)
    in `recipient`, Meta's field for users who hide their number behind a username."""
    if not to:
        raise ValueError("a message needs a recipient")
    return {"recipient": to} if _BUSINESS_SCOPED_USER_ID.match(to) else {"to": to}


def _envelope(to: str, message_type: str, *, reply_to: str | None, callback_data: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **addressed_to(to),
        "type": message_type,
    }
    if reply_to:
        payload["context"] = {"message_id": reply_to}
    if callback_data is not None:
        if len(callback_data) > MAX_CALLBACK_DATA_CHARS:
            raise ValueError(f"callback data is limited to {MAX_CALLBACK_DATA_CHARS} characters")
        payload["biz_opaque_callback_data"] = callback_data
    return payload


def text_payload(
    to: str,
    body: str,
    *,
    reply_to: str | None = None,
    callback_data: str | None = None,
    preview_url: bool = False,
) -> dict[str, Any]:
    if not body.strip():
        raise ValueError("a text message needs a body")
    if len(body) > MAX_TEXT_BODY_CHARS:
        raise ValueError(f"a text message is limited to {MAX_TEXT_BODY_CHARS} characters")
    payload = _envelope(to, "text", reply_to=reply_to, callback_data=callback_data)
    payload["text"] = {"preview_url": preview_url, "body": body}
    return payload


def media_payload(
    to: str,
    media_type: MediaType,
    url: str,
    *,
    caption: str | None = None,
    filename: str | None = None,
    reply_to: str | None = None,
    callback_data: str | None = None,
    media_id: str | None = None,
) -> dict[str, Any]:
    """A media message by link (Meta downloads the file from `url`, which must be reachable over HTTP(S)), or by
    `media_id`, a file uploaded to Meta first (POST /{phone-number-id}/media)."""
    if media_type not in ("image", "document", "audio", "video"):
        raise ValueError(f"unsupported media type {media_type!r}")
    if not url and not media_id:
        raise ValueError("a media message needs a link or a media id")
    media: dict[str, Any] = {"id": media_id} if media_id else {"link": url}
    if caption:
        if media_type not in _CAPTIONED:
            raise ValueError(f"{media_type} messages take no caption")
        if len(caption) > MAX_CAPTION_CHARS:
            raise ValueError(f"a caption is limited to {MAX_CAPTION_CHARS} characters")
        media["caption"] = caption
    if filename:
        if media_type != "document":
            raise ValueError("only documents take a filename")
        media["filename"] = filename
    payload = _envelope(to, media_type, reply_to=reply_to, callback_data=callback_data)
    payload[media_type] = media
    return payload


def reaction_payload(to: str, message_id: str, emoji: str, *, callback_data: str | None = None) -> dict[str, Any]:
    """A reaction on a message (its wamid); an empty emoji removes the business's reaction. Meta answers it with a
    `sent` status only (no delivered or read)."""
    if not message_id:
        raise ValueError("a reaction needs the wamid of the message it reacts to")
    payload = _envelope(to, "reaction", reply_to=None, callback_data=callback_data)
    payload["reaction"] = {"message_id": message_id, "emoji": emoji}
    return payload


def template_payload(
    to: str,
    name: str,
    language: str,
    components: list[dict[str, Any]] | None = None,
    *,
    callback_data: str | None = None,
) -> dict[str, Any]:
    """An approved template: the only kind of message Meta delivers outside the 24-hour window."""
    if not name or not language:
        raise ValueError("a template message needs the template's name and language code")
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = components
    payload = _envelope(to, "template", reply_to=None, callback_data=callback_data)
    payload["template"] = template
    return payload
