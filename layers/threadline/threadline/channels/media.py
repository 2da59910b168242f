"""Fetching a medium a channel handed out, in channel-neutral terms: the copy step (threadline.domain.media.copy)
asks the conversation's channel for the file behind a reference and gets bytes plus what the provider claims about
them (digest, size, type), or one of two neutral failures: try again later, or never.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class FetchedMedia:
    content: bytes
    mime_type: str | None
    # What the provider claims, checked by the copy step against the bytes (None: the provider said nothing).
    expected_sha256: str | None = None
    expected_size: int | None = None
    file_name: str | None = None


class MediaFetchFailed(Exception):
    """The file could not be fetched now. `retryable`: a later attempt may succeed (an outage, an expired URL)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class MediaSource(Protocol):
    def fetch(self, reference: str, *, max_bytes: int) -> FetchedMedia: ...
