"""The local gateway on a random port, serving template.yaml's routes, as `make dev` does."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from devtools.gateway import LocalGateway
from devtools.local_dispatcher import LocalDispatcher, start_local_dispatcher
from devtools.local_s3 import start_local_s3
from threadline.delivery.queue import register_local_queue
from threadline.realtime.publisher import MANAGEMENT_URL_VARIABLE, reset_management_client


@pytest.fixture(scope="session")
def gateway(database_url: str) -> Iterator[LocalGateway]:
    # As `make dev`: the media bucket on a local S3 (moto's server), so uploads and attachments' URLs work.
    s3 = start_local_s3()
    saved = {name: os.environ.get(name) for name in s3.environment()}
    os.environ.update(s3.environment())
    server = LocalGateway(("127.0.0.1", 0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    s3.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def live(gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalGateway]:
    """The gateway with the publishers posting to its management API, as `make dev` sets it up."""
    monkeypatch.setenv(MANAGEMENT_URL_VARIABLE, gateway.base_url)
    reset_management_client()
    yield gateway
    reset_management_client()


@pytest.fixture
def dispatcher() -> Iterator[LocalDispatcher]:
    """`make dev`'s local dispatcher: the in-process queue the writers hand deliveries to, and its consumer thread
    (only the after-commit hand-over: no sweep during a test)."""
    running = start_local_dispatcher(sweep_every_seconds=3600)
    yield running
    running.stop()
    register_local_queue(None)
