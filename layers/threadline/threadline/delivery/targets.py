"""What a kind of delivery target is to the dispatcher (threadline.delivery.dispatcher): how it loads its endpoint
(URL and signing secrets) and what it does with a 2xx answer, a 410 or a delivery given up.

The kinds themselves live with their rules in the domain (webhook subscriptions, connector callbacks); the map from
each `DeliveryTargetKind` to its implementation is built by the entry points that dispatch
(threadline.domain.events.targets.TARGET_KINDS) and passed in, never registered as a side effect of an import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import psycopg

from threadline.db.repositories.deliveries import DeliveryRow
from threadline.delivery.transport import Answer
from threadline.vocabulary import DeliveryTargetKind


@dataclass(frozen=True)
class Endpoint:
    url: str
    # Every secret that signs now, newest first (two during a rotation).
    secrets: list[str]
    active: bool = True


# What a target kind may ask to run once the attempt's record has committed (real-time frames of what it changed).
AfterCommit = Callable[[], None] | None


class TargetKind(Protocol):
    def load_endpoint(self, conn: psycopg.Connection[Any], target_id: UUID, now: datetime) -> Endpoint | None:
        """The target's URL and current secrets (None: the target is gone)."""
        ...

    def on_delivered(self, conn: psycopg.Connection[Any], delivery: DeliveryRow, answer: Answer) -> AfterCommit:
        """In the transaction recording the 2xx (e.g. a connector's answer names the platform's message id)."""
        ...

    def on_gone(self, conn: psycopg.Connection[Any], delivery: DeliveryRow) -> AfterCommit:
        """The receiver answered 410: it wants nothing more."""
        ...

    def on_dead(self, conn: psycopg.Connection[Any], delivery: DeliveryRow) -> AfterCommit:
        """In the transaction recording that the delivery was given up (retries exhausted, a 410, the target gone)."""
        ...


# Every kind the dispatcher may meet, by name: built once by an entry point (the composition root).
TargetKinds = Mapping[DeliveryTargetKind, TargetKind]
