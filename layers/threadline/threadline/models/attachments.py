"""A message's medium as the message views list it (and as the `updated` frame of a copied medium carries it): its
own small module, so the frames' models load it without the message views' models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from threadline.models.query import UtcDatetime

MediaState = Literal["pending", "stored", "failed"]


class Attachment(BaseModel):
    id: int = Field(description="the message's id: a message carries at most one medium")
    name: str
    size: int | None = Field(description="bytes, when known")
    type: str = Field(description="MIME type")
    url: str | None = Field(
        description="what the browser opens directly: for a kept medium a presigned GET of the private bucket that "
        "expires at url_expires_at (read the messages again for a fresh one); null while pending or once failed"
    )
    created_at: UtcDatetime
    state: MediaState | None = Field(
        default=None,
        description="a kept medium's copy: pending (not copied yet; a message.updated event and frame follow when it "
        "is), stored, or failed (see failure_reason); null for a link listed as the connector gave it",
    )
    sha256: str | None = Field(default=None, description="hex SHA-256 of the stored file")
    failure_reason: str | None = Field(default=None, description="why the copy failed (state failed)")
    url_expires_at: UtcDatetime | None = Field(default=None, description="when a presigned url stops working")
    disposition: Literal["inline", "attachment"] | None = Field(
        default=None,
        description="how the url is served: inline (an image, audio or video whose bytes match its type) or "
        "attachment (a download: documents, SVG/HTML, anything whose bytes do not match its type)",
    )
