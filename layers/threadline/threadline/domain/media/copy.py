"""The copy step: one medium, from the channel (or a connector's URL) into the private media bucket.

Runs after the commit that recorded the medium, never inside a request: CopyMediaFunction (SQS) in AWS, a thread
under `make dev`. One job is one attempt:

1. read the row under its tenant; anything but `pending` means the job already happened (a redelivered or
   duplicated job does nothing twice); a job that arrives before its row is due is put back with the remaining delay;
2. fetch the file through the conversation's channel (`sources`, composed by the entry point) and check it against
   what the provider claimed (sha256, file_size): a mismatch is a failed attempt, never a stored file;
3. PUT it at `<tenant>/<conversation>/<message>` (the same key on every attempt, so a retry overwrites, never
   duplicates), then mark the row stored in one compare-and-set, which appends `message.updated` (migration 0040's
   trigger) and, after the commit, pushes the frame to the conversation's subscribers.

A failed attempt that may succeed later (an outage, a 503, an expired URL, a digest mismatch) is retried with
exponential backoff (RETRY_BASE_SECONDS doubling, at most RETRY_CAP_SECONDS, jittered) for RETRY_FOR after the
medium was recorded, then the row is `failed` with the last reason; one that cannot (the provider no longer knows
the id, the file is over the limit) fails at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from aws_lambda_powertools.metrics import MetricUnit

from threadline.aws.s3 import MediaBucket, S3Error
from threadline.channels.media import FetchedMedia, MediaFetchFailed, MediaSource
from threadline.db.repositories.media import (
    KeptMedia,
    MediaJob,
    find_media_job,
    mark_media_failed,
    mark_media_retry,
    mark_media_stored,
)
from threadline.db.tenancy import run_in_transaction
from threadline.delivery.media_queue import MediaCopyJob
from threadline.domain.media.attachments import kept_attachment
from threadline.domain.media.sniff import detect_mime_type
from threadline.observability import logger, metrics
from threadline.realtime.publisher import publish_stored_messages

RETRY_FOR = timedelta(hours=24)
RETRY_BASE_SECONDS = 30.0
RETRY_CAP_SECONDS = 3600.0
# Meta's largest medium is a 100 MB document; nothing larger is fetched.
MAX_MEDIA_BYTES = 100 * 1024 * 1024
UNKNOWN_MIME_TYPE = "application/octet-stream"
# A source kind `url` (a connector's media_url) is fetched by the source registered under this name.
URL_SOURCE = "url"

CopyState = Literal["stored", "retry", "failed", "done", "not_due", "gone"]


@dataclass(frozen=True)
class CopyOutcome:
    state: CopyState
    # For "retry" and "not_due": when to hand the job over again.
    retry_in_seconds: float | None = None
    reason: str | None = None


class _Retry(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Fail(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def media_key(job: MediaJob) -> str:
    return f"{job.tenant_id}/{job.conversation_id}/{job.message_id}"


def backoff_seconds(attempts: int) -> float:
    """After the `attempts`-th failure: 30 s, 60 s, 120 s, ... at most an hour, with jitter (half to all of it)."""
    ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311


def _digest_matches(expected: str, actual_hex: str) -> bool:
    """Meta's media endpoint gives the hex digest; some webhook payloads carry it in base64. Either is accepted."""
    claimed = expected.strip().lower()
    if claimed == actual_hex:
        return True
    try:
        return base64.b64decode(expected.strip(), validate=True).hex() == actual_hex
    except (binascii.Error, ValueError):
        return False


def _checked(fetched: FetchedMedia) -> str:
    """The bytes' hex SHA-256, once they match what the provider claimed."""
    digest = hashlib.sha256(fetched.content).hexdigest()
    if fetched.expected_size is not None and fetched.expected_size != len(fetched.content):
        raise _Retry(f"size {len(fetched.content)} does not match the provider's file_size {fetched.expected_size}")
    if fetched.expected_sha256 is not None and not _digest_matches(fetched.expected_sha256, digest):
        raise _Retry("sha256 does not match the provider's")
    return digest


def _fetch(job: MediaJob, sources: Mapping[str, MediaSource]) -> FetchedMedia:
    source = sources.get(URL_SOURCE if job.source_kind == "url" else job.platform)
    if source is None:
        raise _Fail(f"no way to fetch media of a {job.platform} conversation")
    try:
        return source.fetch(job.source_ref, max_bytes=MAX_MEDIA_BYTES)
    except MediaFetchFailed as error:
        raise (_Retry(error.reason) if error.retryable else _Fail(error.reason)) from error


def copy_media(
    job: MediaCopyJob,
    *,
    sources: Mapping[str, MediaSource],
    bucket: MediaBucket,
    now: datetime | None = None,
) -> CopyOutcome:
    """One attempt at one medium (see the module docstring). Raises only when the database cannot be reached, so
    the queue redelivers the job."""
    moment = now or datetime.now(UTC)
    row = run_in_transaction(lambda conn: find_media_job(conn, job.message_id), tenant_id=job.tenant_id)
    if row is None:
        return CopyOutcome("gone")
    if row.state != "pending":
        return CopyOutcome("done")
    wait = (row.next_attempt_at - moment).total_seconds()
    if wait > 1:
        return CopyOutcome("not_due", retry_in_seconds=wait)
    try:
        fetched = _fetch(row, sources)
        digest = _checked(fetched)
        mime_type = fetched.mime_type or row.mime_type or UNKNOWN_MIME_TYPE
        key = media_key(row)
        try:
            bucket.put_object(
                key,
                fetched.content,
                content_type=mime_type,
                sha256_hex=digest,
                metadata={"tenant-id": str(row.tenant_id), "message-id": str(row.message_id)},
            )
        except S3Error as error:
            raise _Retry(f"storing the file failed: {error}") from error
    except _Fail as failure:
        return _give_up(row, failure.reason)
    except _Retry as failure:
        return _retry_later(row, failure.reason, moment)
    kept = KeptMedia(
        message_id=row.message_id,
        state="stored",
        failure_reason=None,
        mime_type=mime_type,
        detected_mime_type=detect_mime_type(fetched.content),
        file_name=row.file_name or fetched.file_name,
        size_bytes=len(fetched.content),
        sha256=digest,
        s3_key=key,
        stored_at=moment,
    )
    stored = run_in_transaction(
        lambda conn: mark_media_stored(
            conn,
            message_id=row.message_id,
            s3_key=key,
            size_bytes=len(fetched.content),
            sha256=digest,
            mime_type=mime_type,
            detected_mime_type=kept.detected_mime_type,
            file_name=fetched.file_name,
        ),
        tenant_id=row.tenant_id,
    )
    if not stored:
        return CopyOutcome("done")
    metrics.add_metric(name="MediaCopied", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="MediaCopiedBytes", unit=MetricUnit.Bytes, value=len(fetched.content))
    _publish(row, kept, bucket)
    return CopyOutcome("stored")


def _publish(row: MediaJob, kept: KeptMedia, bucket: MediaBucket | None) -> None:
    """After the commit: the conversation's subscribers get the `updated` frame with the attachment as the message
    views now list it (for a stored medium, with its presigned URL)."""
    attachment = kept_attachment(kept, message_type=row.message_type, created_at=row.sent_at, bucket=bucket)
    extras = {row.message_id: {"attachments": [attachment]}}
    publish_stored_messages(row.tenant_id, "updated", [row.message_id], message_extras=extras)


def _retry_later(row: MediaJob, reason: str, moment: datetime) -> CopyOutcome:
    if moment - row.created_at >= RETRY_FOR:
        return _give_up(row, f"gave up after {RETRY_FOR.total_seconds() / 3600:g} hours: {reason}")
    delay = backoff_seconds(row.attempts + 1)
    run_in_transaction(
        lambda conn: mark_media_retry(conn, message_id=row.message_id, reason=reason, retry_in_seconds=delay),
        tenant_id=row.tenant_id,
    )
    logger.warning(
        "media copy attempt failed; retrying",
        extra={"message_id": row.message_id, "reason": reason, "retry_in_seconds": round(delay, 1)},
    )
    metrics.add_metric(name="MediaCopyRetries", unit=MetricUnit.Count, value=1)
    return CopyOutcome("retry", retry_in_seconds=delay, reason=reason)


def _give_up(row: MediaJob, reason: str) -> CopyOutcome:
    failed = run_in_transaction(
        lambda conn: mark_media_failed(conn, message_id=row.message_id, reason=reason), tenant_id=row.tenant_id
    )
    if not failed:
        return CopyOutcome("done")
    logger.warning("media copy gave up", extra={"message_id": row.message_id, "reason": reason})
    metrics.add_metric(name="MediaCopyFailures", unit=MetricUnit.Count, value=1)
    kept = KeptMedia(row.message_id, "failed", reason, row.mime_type, None, row.file_name, None, None, None, None)
    _publish(row, kept, None)
    return CopyOutcome("failed", reason=reason)
