"""How the dispatcher hears about deliveries: a queue of `{"tenant_id", "delivery_id"}` messages.

In AWS it is SQS (`DELIVERY_QUEUE_URL`; the dispatcher function is its event source, a dead-letter queue catches
what keeps failing). Under `make dev` the development server registers an in-process queue (register_local_queue) consumed by a
dispatcher thread calling the same domain code. With neither, nothing is handed over after commit and the
scheduled sweep is the only hand-over: deliveries then wait for the next scheduled run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

QUEUE_URL_VARIABLE = "DELIVERY_QUEUE_URL"
# SQS's longest per-message delay: a retry due later is handed over by the sweep instead.
MAX_DELAY_SECONDS = 900


@dataclass(frozen=True)
class QueuedDelivery:
    tenant_id: UUID
    delivery_id: UUID

    def as_json(self) -> str:
        return json.dumps({"tenant_id": str(self.tenant_id), "delivery_id": str(self.delivery_id)})

    @classmethod
    def from_json(cls, body: str) -> QueuedDelivery:
        parsed = json.loads(body)
        return cls(tenant_id=UUID(parsed["tenant_id"]), delivery_id=UUID(parsed["delivery_id"]))


class DeliveryQueue(Protocol):
    def send(self, deliveries: Sequence[QueuedDelivery], *, delay_seconds: int = 0) -> None: ...


class SqsDeliveryQueue:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, deliveries: Sequence[QueuedDelivery], *, delay_seconds: int = 0) -> None:
        client = _sqs_client(_region_of(self.queue_url))
        for start in range(0, len(deliveries), 10):  # SendMessageBatch takes ten at most
            entries = [
                {"Id": str(n), "MessageBody": d.as_json(), "DelaySeconds": min(delay_seconds, MAX_DELAY_SECONDS)}
                for n, d in enumerate(deliveries[start : start + 10])
            ]
            answer = client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if answer.get("Failed"):
                raise RuntimeError(f"SQS refused {len(answer['Failed'])} delivery messages")


def _region_of(queue_url: str) -> str:
    # https://sqs.<region>.amazonaws.com/<account>/<name>; anything else (a local endpoint) takes the environment's.
    host = queue_url.split("/")[2] if "://" in queue_url else ""
    parts = host.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "sqs" else os.environ.get("AWS_REGION", "us-east-1")


@lru_cache(maxsize=4)
def _sqs_client(region: str) -> Any:
    import boto3  # only writers that owe deliveries pay the import
    from botocore.config import Config

    return boto3.client(
        "sqs", region_name=region, config=Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2})
    )


_local_queue: DeliveryQueue | None = None


def register_local_queue(queue: DeliveryQueue | None) -> None:
    """Development only (the local server): the in-process queue its dispatcher thread consumes."""
    global _local_queue
    _local_queue = queue


def delivery_queue() -> DeliveryQueue | None:
    url = os.environ.get(QUEUE_URL_VARIABLE)
    if url:
        return SqsDeliveryQueue(url)
    return _local_queue


def reset_queue_clients() -> None:
    _sqs_client.cache_clear()
