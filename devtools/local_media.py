"""`make dev`'s media copy step: what the media copy queue (SQS) and CopyMediaFunction are in AWS, in this process.

A local S3 (moto's server, devtools/local_s3.py) holds the private media bucket; an in-process queue (the delivery
dispatcher's, with SQS's per-message delays) receives the webhook's copy jobs after its commit; a thread consumes it
with the same domain code the Lambda function runs (threadline.domain.media.worker.run_copy_jobs), and sweeps
pending media every few seconds as the scheduled run does. With MEDIA_BUCKET exported by the developer, the real
bucket is used instead of the local S3 (with the developer's AWS credentials).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from devtools.local_dispatcher import LocalDeliveryQueue
from devtools.local_s3 import LOCAL_AWS_CREDENTIALS, LocalS3, start_local_s3

SWEEP_EVERY_SECONDS = 10.0


@dataclass
class LocalMedia:
    queue: LocalDeliveryQueue
    s3: LocalS3 | None
    notice: str
    _stopping: threading.Event
    _thread: threading.Thread

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=15)
        from threadline.delivery.media_queue import register_local_media_queue

        register_local_media_queue(None)
        if self.s3 is not None:
            self.s3.stop()


def _consume(queue: LocalDeliveryQueue, stopping: threading.Event, sweep_every_seconds: float) -> None:
    from threadline.domain.media.handover import sweep_pending_media
    from threadline.domain.media.worker import run_copy_jobs

    next_sweep = time.monotonic() + sweep_every_seconds
    while not stopping.is_set():
        batch = queue.take(timeout=0.2)
        if batch:
            try:
                outcome = run_copy_jobs(batch)
                if outcome.failed:  # as SQS redrives a failed job: again a little later
                    queue.send(outcome.failed, delay_seconds=5)
            except Exception as error:  # a development server keeps serving; the sweep retries
                print(f"media copy failed: {type(error).__name__}: {error}", flush=True)
        if time.monotonic() >= next_sweep:
            next_sweep = time.monotonic() + sweep_every_seconds
            try:
                sweep_pending_media()
            except Exception as error:
                print(f"media sweep failed: {type(error).__name__}: {error}", flush=True)


def start_local_media(
    *, sweep_every_seconds: float = SWEEP_EVERY_SECONDS, announce: Callable[[str], None] | None = None
) -> LocalMedia:
    """Start the local S3 (unless MEDIA_BUCKET is set), export where it is, and start the copy thread."""
    from threadline.delivery.media_queue import register_local_media_queue

    s3: LocalS3 | None = None
    if os.environ.get("MEDIA_BUCKET"):
        notice = f"Media: copied into s3://{os.environ['MEDIA_BUCKET']} (MEDIA_BUCKET is set: the real bucket)"
    else:
        s3 = start_local_s3()
        os.environ.update(s3.environment())
        for name, value in LOCAL_AWS_CREDENTIALS.items():
            os.environ.setdefault(name, value)
        notice = (
            f"Media: copied into a local S3 (moto's server) at {s3.url}, bucket {s3.bucket}; attachments' URLs are"
            " presigned GETs of it (files live in memory until make dev stops)"
        )
    queue = LocalDeliveryQueue()
    register_local_media_queue(queue)
    stopping = threading.Event()
    thread = threading.Thread(
        target=_consume, args=(queue, stopping, sweep_every_seconds), name="media-copy", daemon=True
    )
    thread.start()
    if announce is not None:
        announce(notice)
    return LocalMedia(queue=queue, s3=s3, notice=notice, _stopping=stopping, _thread=thread)
