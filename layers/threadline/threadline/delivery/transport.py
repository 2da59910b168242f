"""One POST to a checked destination, connected to the address that was checked (threadline.delivery.addresses),
with TLS verified against the URL's host name. Short timeouts: a slow receiver holds one dispatcher thread for at
most CONNECT + READ seconds, never the request that caused the event (that one committed long before)."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from threadline.delivery.addresses import Destination

CONNECT_TIMEOUT_SECONDS = 3.0
# The contract: a 2xx within 10 s is delivered.
ANSWER_TIMEOUT_SECONDS = 10.0
MAX_ANSWER_BYTES = 65_536


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class TransportFailed(Exception):
    """No answer: refused, reset, timed out, TLS failure. The message is safe to record."""


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._address = destination.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), timeout=CONNECT_TIMEOUT_SECONDS)
        self.sock.settimeout(self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout, context=_tls_context())
        self._address = destination.address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), timeout=CONNECT_TIMEOUT_SECONDS)
        raw.settimeout(self.timeout)
        # SNI and certificate checks against the URL's host, whatever address it was pinned to.
        self.sock = _tls_context().wrap_socket(raw, server_hostname=self.host)


@dataclass(frozen=True)
class Download:
    status: int
    content_type: str | None
    body: bytes


class DownloadTooLarge(Exception):
    """The body grew past the caller's limit: the rest was not read."""


def get(destination: Destination, *, max_bytes: int, timeout: float = 60.0) -> Download:
    """One GET to a checked destination (pinned to its checked address, as `post`), the body read up to `max_bytes`.
    Redirects are not followed (a Location could name an address nobody checked): the 3xx is the answer."""
    connection_class = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(destination, timeout)
    try:
        connection.request("GET", destination.path, headers={"User-Agent": "threadline-media-copy"})
        response = connection.getresponse()
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise DownloadTooLarge(f"the file is {declared} bytes, over the {max_bytes}-byte limit")
        body = response.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise DownloadTooLarge(f"the file is over the {max_bytes}-byte limit")
        return Download(status=response.status, content_type=response.getheader("Content-Type"), body=body)
    except TimeoutError:
        raise TransportFailed(f"no answer within {timeout:g} s") from None
    except ssl.SSLError as error:
        raise TransportFailed(f"TLS failed: {error.reason or type(error).__name__}") from None
    except (OSError, http.client.HTTPException) as error:
        raise TransportFailed(f"{type(error).__name__}: {error}"[:300]) from None
    finally:
        connection.close()


def post(destination: Destination, *, headers: Mapping[str, str], body: bytes) -> Answer:
    connection_class = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(destination, ANSWER_TIMEOUT_SECONDS)
    deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
    try:
        connection.request("POST", destination.path, body=body, headers=dict(headers))
        response = connection.getresponse()
        answer = response.read(MAX_ANSWER_BYTES)
        if time.monotonic() > deadline:
            raise TransportFailed(f"answered after more than {ANSWER_TIMEOUT_SECONDS:g} s")
        return Answer(status=response.status, body=answer)
    except TimeoutError:
        raise TransportFailed(f"no answer within {ANSWER_TIMEOUT_SECONDS:g} s") from None
    except ssl.SSLError as error:
        raise TransportFailed(f"TLS failed: {error.reason or type(error).__name__}") from None
    except (OSError, http.client.HTTPException) as error:
        raise TransportFailed(f"{type(error).__name__}: {error}"[:300]) from None
    finally:
        connection.close()
