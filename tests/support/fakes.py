"""The fakes' settings: the values the fake_graph and fake_bedrock fixtures (tests/conftest.py) point the clients
at, and how they set and restore the environment."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

FAKE_META_ACCESS_TOKEN = "test-meta-token-must-never-be-logged"
FAKE_META_PHONE_NUMBER_ID = "109999999999999"
FAKE_META_API_VERSION = "v24.0"
META_ENVIRONMENT = (
    "META_GRAPH_URL",
    "META_API_VERSION",
    "META_ACCESS_TOKEN",
    "META_PHONE_NUMBER_ID",
    "META_SECRET_ARN",
)

FAKE_BEDROCK_MODEL_ID = "anthropic.fake-claude-v1:0"
BEDROCK_ENVIRONMENT = (
    "BEDROCK_MODEL_ID",
    "BEDROCK_REGION",
    "BEDROCK_ENDPOINT_URL",
    "BEDROCK_MAX_TOKENS",
    "BEDROCK_HISTORY_TOKEN_BUDGET",
    "BEDROCK_SYSTEM_PROMPT",
    "BEDROCK_READ_TIMEOUT_SECONDS",
    "BEDROCK_MAX_ATTEMPTS",
)


@contextlib.contextmanager
def environment(values: dict[str, str], *, remove: Iterable[str], reset: Callable[[], None]) -> Iterator[None]:
    """Unset `remove`, set `values`, and call `reset` (the client that caches them); afterwards put back every
    variable named in either exactly as it was, whatever the test changed meanwhile, and call `reset` again."""
    names = {*remove, *values}
    saved = {name: os.environ.get(name) for name in names}
    for name in remove:
        os.environ.pop(name, None)
    os.environ.update(values)
    reset()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset()


class RecordingMediaQueue:
    """The media copy queue as tests see it: what was sent, and with which delay (nothing is copied)."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, int]] = []

    def send(self, jobs: Any, *, delay_seconds: int = 0) -> None:
        self.sent.extend((job, delay_seconds) for job in jobs)
