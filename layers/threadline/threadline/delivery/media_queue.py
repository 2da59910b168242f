"""How the copy step hears about media to copy: a queue of `{"tenant_id", "message_id"}` jobs.

In AWS it is SQS (`MEDIA_COPY_QUEUE_URL`; CopyMediaFunction is its event source, a dead-letter queue keeps what
keeps crashing). Under `make dev` the development server registers an in-process queue consumed by a thread running
the same domain code (the development tools' local media module). With neither, the scheduled sweep is the only hand-over.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from threadline.aws.sqs import BatchEntry, send_message_batch
from threadline.delivery.queue import MAX_DELAY_SECONDS

QUEUE_URL_VARIABLE = "MEDIA_COPY_QUEUE_URL"


@dataclass(frozen=True)
class MediaCopyJob:
    tenant_id: UUID
    message_id: int

    def as_json(self) -> str:
        return json.dumps({"tenant_id": str(self.tenant_id), "message_id": self.message_id})

    @classmethod
    def from_json(cls, body: str) -> MediaCopyJob:
        parsed = json.loads(body)
        return cls(tenant_id=UUID(parsed["tenant_id"]), message_id=int(parsed["message_id"]))


class MediaQueue(Protocol):
    def send(self, jobs: Sequence[Any], *, delay_seconds: int = 0) -> None: ...


class SqsMediaQueue:
    """SQS through the standard library (threadline.aws.sqs): the webhook enqueues inside Meta's request, where
    importing boto3 would cost a fresh container its first media message's 100+ ms."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, jobs: Sequence[Any], *, delay_seconds: int = 0) -> None:
        delay = min(delay_seconds, MAX_DELAY_SECONDS)
        for start in range(0, len(jobs), 10):  # SendMessageBatch takes ten at most
            entries = [BatchEntry(str(n), job.as_json(), delay) for n, job in enumerate(jobs[start : start + 10])]
            send_message_batch(self.queue_url, entries)


_local_queue: MediaQueue | None = None


def register_local_media_queue(queue: MediaQueue | None) -> None:
    """Development only (the local server, the benchmark): the in-process queue its copy thread consumes."""
    global _local_queue
    _local_queue = queue


def media_queue() -> MediaQueue | None:
    url = os.environ.get(QUEUE_URL_VARIABLE)
    if url:
        return SqsMediaQueue(url)
    return _local_queue
