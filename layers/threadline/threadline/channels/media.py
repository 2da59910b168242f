"""Fetching a medium a channel handed out, in channel-neutral terms: the copy step (threadline.domain.media.copy)
asks the conversation's channel for the file behind a reference and gets bytes plus what the provider claims about
them (digest, size, type), or one of two neutral failures: try again later, or never.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol
from urllib.parse import unquote, urlsplit


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


class LinkMediaSource:
    """A connector's media_url, fetched only when its connection opts in, under the outbound address rules
    (threadline.delivery.addresses: https, public addresses only, the connection pinned to the checked address, no
    redirects), so a tenant's URL cannot make Threadline fetch from inside its VPC."""

    def fetch(self, reference: str, *, max_bytes: int) -> FetchedMedia:
        from threadline.delivery.addresses import AddressRefused, resolve_destination
        from threadline.delivery.transport import DownloadTooLarge, TransportFailed, get

        try:
            answer = get(resolve_destination(reference), max_bytes=max_bytes)
        except AddressRefused as error:
            raise MediaFetchFailed(f"media_url refused: {error}", retryable=False) from error
        except DownloadTooLarge as error:
            raise MediaFetchFailed(str(error), retryable=False) from error
        except TransportFailed as error:
            raise MediaFetchFailed(f"media_url: {error}", retryable=True) from error
        if answer.status >= 500 or answer.status in (408, 429):
            raise MediaFetchFailed(f"media_url answered HTTP {answer.status}", retryable=True)
        if not 200 <= answer.status < 300:
            raise MediaFetchFailed(f"media_url answered HTTP {answer.status}", retryable=False)
        mime_type = answer.content_type.split(";", 1)[0].strip() if answer.content_type else None
        # The link's last path segment names the file, as the views name a link attachment.
        file_name = unquote(PurePosixPath(urlsplit(reference).path).name) or None
        return FetchedMedia(content=answer.body, mime_type=mime_type or None, file_name=file_name)
