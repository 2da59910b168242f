"""The copy step's entry: a batch of queued jobs (CopyMediaFunction's SQS batch, `make dev`'s copy thread), each
one attempt (threadline.domain.media.copy), a retry put back on the queue with its delay.

MEDIA_SOURCES is the composition root: which channel fetches a conversation's media, by platform (a connector's
media_url, when its connection opts in, under "url").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from threadline.aws.s3 import MediaBucket
from threadline.channels.media import LinkMediaSource, MediaSource
from threadline.channels.whatsapp.media import WhatsAppMediaSource
from threadline.delivery.media_queue import MediaCopyJob, media_queue
from threadline.delivery.queue import MAX_DELAY_SECONDS
from threadline.domain.media.copy import URL_SOURCE, CopyOutcome, copy_media
from threadline.observability import logger

MEDIA_SOURCES: Mapping[str, MediaSource] = {"whatsapp": WhatsAppMediaSource(), URL_SOURCE: LinkMediaSource()}


@dataclass
class BatchOutcome:
    outcomes: list[CopyOutcome] = field(default_factory=list)
    # Jobs whose attempt could not run or be recorded (the database, the queue): the queue redelivers them.
    failed: list[MediaCopyJob] = field(default_factory=list)


def run_copy_jobs(
    jobs: Sequence[MediaCopyJob],
    *,
    sources: Mapping[str, MediaSource] = MEDIA_SOURCES,
    bucket: MediaBucket | None = None,
) -> BatchOutcome:
    bucket = bucket or MediaBucket.from_environment()
    if bucket is None:
        raise RuntimeError("MEDIA_BUCKET is not set: there is nowhere to copy media to")
    result = BatchOutcome()
    for job in jobs:
        try:
            outcome = copy_media(job, sources=sources, bucket=bucket)
            if outcome.retry_in_seconds is not None:
                queue = media_queue()
                if queue is not None:
                    delay = math.ceil(min(outcome.retry_in_seconds, MAX_DELAY_SECONDS))
                    queue.send([job], delay_seconds=delay)
            result.outcomes.append(outcome)
        except Exception:
            logger.exception("media copy job failed; the queue redelivers it", extra={"message_id": job.message_id})
            result.failed.append(job)
    return result
