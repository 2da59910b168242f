"""The local gateway on a random port, serving template.yaml's routes, as `make dev` does."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from devtools.gateway import LocalGateway


@pytest.fixture(scope="session")
def gateway(database_url: str) -> Iterator[LocalGateway]:
    server = LocalGateway(("127.0.0.1", 0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
