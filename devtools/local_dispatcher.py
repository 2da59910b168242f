"""`make dev`'s delivery dispatcher: what SQS and DeliveryDispatchFunction are in AWS, in this process.

An in-process queue (with SQS's per-message delays) that the layer's writers hand deliveries to after commit
(threadline.delivery.queue.register_local_queue), and a thread that consumes it with the same domain code the Lambda
function runs (threadline.delivery.dispatcher.dispatch), plus the scheduled sweep every few seconds, so a fresh clone
delivers webhooks end to end with nothing but `make dev`.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Sequence
from typing import Any

SWEEP_EVERY_SECONDS = 10.0
BATCH = 10  # as the SQS event source's batch


class LocalDeliveryQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Any]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()

    def send(self, deliveries: Sequence[Any], *, delay_seconds: int = 0) -> None:
        due = time.monotonic() + delay_seconds
        with self._ready:
            for delivery in deliveries:
                heapq.heappush(self._heap, (due, next(self._order), delivery))
            self._ready.notify()

    def take(self, *, timeout: float) -> list[Any]:
        """Up to BATCH due deliveries, waiting at most `timeout` seconds for the first."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while True:
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    batch: list[Any] = []
                    while self._heap and self._heap[0][0] <= now and len(batch) < BATCH:
                        batch.append(heapq.heappop(self._heap)[2])
                    return batch
                if now >= deadline:
                    return []
                wake = min(deadline, self._heap[0][0]) if self._heap else deadline
                self._ready.wait(max(wake - now, 0.001))

    def __len__(self) -> int:
        with self._ready:
            return len(self._heap)


class LocalDispatcher:
    """The queue's consumer thread (a daemon: it ends with `make dev`)."""

    def __init__(self, queue: LocalDeliveryQueue, *, sweep_every_seconds: float = SWEEP_EVERY_SECONDS) -> None:
        self.queue = queue
        self.sweep_every_seconds = sweep_every_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delivery-dispatcher", daemon=True)

    def start(self) -> LocalDispatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        from threadline.delivery.dispatcher import dispatch, sweep_deliveries
        from threadline.domain.events.targets import TARGET_KINDS

        next_sweep = time.monotonic()
        while not self._stopping.is_set():
            batch = self.queue.take(timeout=0.2)
            if batch:
                try:
                    dispatch(batch, kinds=TARGET_KINDS)
                except Exception as error:  # a development server keeps serving; the sweep retries
                    print(f"delivery dispatch failed: {type(error).__name__}: {error}", flush=True)
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + self.sweep_every_seconds
                try:
                    sweep_deliveries(kinds=TARGET_KINDS)
                except Exception as error:
                    print(f"delivery sweep failed: {type(error).__name__}: {error}", flush=True)


def start_local_dispatcher(*, sweep_every_seconds: float = SWEEP_EVERY_SECONDS) -> LocalDispatcher:
    """Register the in-process queue with the layer and start consuming it."""
    from threadline.delivery.queue import register_local_queue

    queue = LocalDeliveryQueue()
    register_local_queue(queue)
    return LocalDispatcher(queue, sweep_every_seconds=sweep_every_seconds).start()
