"""WhatsApp's media, fetched as Meta hands them out: `GET /{media-id}` with the access token answers a URL that
lives about five minutes, its MIME type, sha256 (hex) and file_size; the file is then downloaded from that URL with
the same token. Each attempt asks for a fresh URL, so a retry hours later still works (Meta keeps a webhook's media
id for 7 days). Meta's errors become the channel-neutral MediaFetchFailed here.
"""

from __future__ import annotations

from threadline.channels.media import FetchedMedia, MediaFetchFailed
from threadline.meta.client import MediaTooLarge, get_meta_client
from threadline.meta.errors import MetaApiError, MetaError, MetaInvalidParameter, MetaNotConfigured


class WhatsAppMediaSource:
    def fetch(self, reference: str, *, max_bytes: int) -> FetchedMedia:
        client = get_meta_client()
        try:
            info = client.media_info(reference)
            if info.file_size is not None and info.file_size > max_bytes:
                raise MediaFetchFailed(
                    f"media is {info.file_size} bytes, over the {max_bytes}-byte limit", retryable=False
                )
            content = client.download_media(info.url, max_bytes=max_bytes)
        except MediaTooLarge as error:
            raise MediaFetchFailed(str(error), retryable=False) from error
        except MetaInvalidParameter as error:
            # (#100): Meta no longer knows the id (expired after 7 days, or deleted): no later attempt will find it.
            raise MediaFetchFailed(f"Meta does not know this media id: {error}", retryable=False) from error
        except (MetaApiError, MetaNotConfigured, MetaError) as error:
            raise MediaFetchFailed(f"Meta: {error}", retryable=True) from error
        return FetchedMedia(
            content=content, mime_type=info.mime_type, expected_sha256=info.sha256, expected_size=info.file_size
        )
