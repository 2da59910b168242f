"""The Graph API client that sends WhatsApp messages: one pooled HTTP session per warm container.

Retry policy. Meta has no idempotency key for /messages, so a retry is only safe when the failed attempt cannot
have sent anything, or when Meta said in so many words that it did not:
- retried: HTTP 429 and codes 130429 / 4 / 80007 (throughput and call-rate limits: the message was refused);
  connection failures before the request was written (refused, DNS, connect timeout); HTTP 5xx, where Meta's
  front end answered that it failed the request (a small duplicate risk Meta's own retry guidance accepts; if every
  attempt fails the caller still gets `outcome_unknown=True`).
- not retried here: 131056, the pair rate limit (about one message per 6 seconds to the same user): a retry within
  our sub-second backoff would be refused again and would only burn the function's time, so the caller gets
  MetaRateLimited with `retry_after_seconds` and decides; read timeouts and connections dropped after the request
  was written (Meta may be delivering the message: `outcome_unknown=True`); any other error answer.
Backoff is exponential with full jitter, at least Retry-After when Meta sends one, and never crosses the caller's
deadline: no attempt starts and no sleep begins when the remaining time cannot fit them, and each attempt's
timeouts are clipped to the time left.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError

from threadline.aws.secrets import clear_secret_cache
from threadline.meta.config import MetaSettings, get_meta_settings
from threadline.meta.errors import (
    MetaError,
    MetaNotConfigured,
    MetaRateLimited,
    MetaUnavailable,
    meta_error_from_response,
)
from threadline.observability import logger

# An attempt is only worth starting with this much time left: a connect plus a short answer.
MIN_ATTEMPT_SECONDS = 0.25
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 4.0
# A Retry-After longer than this is the caller's to schedule (a queue, a later try), not ours to sleep through.
MAX_IN_CALL_WAIT_SECONDS = 10.0
# Pair rate limits are not worth a quick retry: see the module docstring.
_NOT_RETRIED_IN_CALL_CODES = frozenset({131056})


@dataclass(frozen=True)
class MediaInfo:
    """GET /{media-id}: where the file is (a URL that lives about five minutes and answers only with the access
    token), and what Meta says it is. `sha256` is the file's hex digest; `file_size` its bytes (Meta sends it as a
    string or a number)."""

    media_id: str
    url: str
    mime_type: str | None
    sha256: str | None
    file_size: int | None


def _media_info(media_id: str, body: Any) -> MediaInfo | None:
    if not isinstance(body, Mapping) or not isinstance(body.get("url"), str) or not body["url"]:
        return None
    size = body.get("file_size")
    try:
        file_size = int(size) if size is not None and not isinstance(size, bool) else None
    except (TypeError, ValueError):
        file_size = None
    mime_type, sha256 = body.get("mime_type"), body.get("sha256")
    return MediaInfo(
        media_id=str(body.get("id") or media_id),
        url=body["url"],
        mime_type=mime_type if isinstance(mime_type, str) and mime_type else None,
        sha256=sha256 if isinstance(sha256, str) and sha256 else None,
        file_size=file_size,
    )


class MediaTooLarge(MetaError):
    """The download grew past the caller's limit: the rest is not read."""


@dataclass(frozen=True)
class SentMessage:
    wamid: str  # messages[0].id: the id Meta's status webhooks will name
    wa_id: str | None  # contacts[0].wa_id: the recipient's WhatsApp id, when Meta returns it


class _HasRemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def deadline_from_lambda_context(context: _HasRemainingTime, *, reserve_seconds: float = 1.0) -> float:
    """A `time.monotonic()` deadline that leaves `reserve_seconds` of the invocation for recording the outcome."""
    return time.monotonic() + context.get_remaining_time_in_millis() / 1000 - reserve_seconds


def _failed_before_sending(error: BaseException) -> bool:
    """True when urllib3 never opened the connection (refused, DNS, connect timeout), so nothing was written."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectTimeoutError):  # NewConnectionError and NameResolutionError derive from it
            return True
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError carries the cause here
        candidates = [*current.args, reason, current.__cause__, current.__context__]
        pending.extend(candidate for candidate in candidates if isinstance(candidate, BaseException))
    return False


def _transport_error(error: requests.RequestException) -> MetaError:
    if isinstance(error, requests.exceptions.SSLError):
        # Usually a certificate problem, which does not clear by itself; nothing was sent.
        return MetaUnavailable("TLS handshake with Meta failed", retryable=False)
    if isinstance(error, requests.exceptions.ConnectTimeout) or (
        isinstance(error, requests.exceptions.ConnectionError) and _failed_before_sending(error)
    ):
        return MetaUnavailable("Could not connect to Meta's Graph API")
    if isinstance(error, requests.exceptions.ReadTimeout):
        return MetaUnavailable("Meta did not answer in time", outcome_unknown=True)
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return MetaNotConfigured("META_GRAPH_URL is not a usable URL")
    # Dropped mid-exchange (reset, truncated answer): the request may have been written and acted on.
    return MetaUnavailable("The connection to Meta failed during the request", outcome_unknown=True)


def _retry_in_call(error: MetaError) -> bool:
    if isinstance(error, MetaRateLimited):
        return error.code not in _NOT_RETRIED_IN_CALL_CODES
    if isinstance(error, MetaUnavailable):
        if error.http_status is not None:
            return error.http_status >= 500
        return error.retryable and not error.outcome_unknown
    return False


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _sent_message(body: Any) -> SentMessage | None:
    if not isinstance(body, Mapping):
        return None
    messages = body.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = first.get("id") if isinstance(first, Mapping) else None
    if not isinstance(wamid, str) or not wamid:
        return None
    contacts = body.get("contacts")
    contact = contacts[0] if isinstance(contacts, list) and contacts else None
    wa_id = contact.get("wa_id") if isinstance(contact, Mapping) else None
    return SentMessage(wamid=wamid, wa_id=wa_id if isinstance(wa_id, str) and wa_id else None)


class MetaClient:
    def __init__(
        self,
        settings: MetaSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self._session = session or self._pooled_session()

    @staticmethod
    def _pooled_session() -> requests.Session:
        session = requests.Session()
        # Retries are ours (they depend on Meta's error codes and the deadline), so urllib3 makes none.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=10, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = "threadline-meta-client"
        return session

    @property
    def settings(self) -> MetaSettings:
        return self._settings

    def close(self) -> None:
        self._session.close()

    def messages_url(self, phone_number_id: str) -> str:
        return f"{self._settings.graph_url.rstrip('/')}/{self._settings.api_version}/{phone_number_id}/messages"

    def send_message(
        self, phone_number_id: str, payload: dict[str, Any], *, deadline: float | None = None
    ) -> SentMessage:
        """POST the payload to /{phone_number_id}/messages. `deadline` is a `time.monotonic()` value after which no
        attempt or backoff starts; raises a MetaError subclass when no message id comes back."""
        if not phone_number_id:
            raise MetaNotConfigured("No WhatsApp phone number id to send from (set META_PHONE_NUMBER_ID)")
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        url = self.messages_url(phone_number_id)
        log_context = {"phone_number_id": phone_number_id, "message_type": payload.get("type")}
        last_error: MetaError | None = None
        may_have_reached_meta = False
        attempt = 0
        while attempt < self._settings.max_attempts:
            timeout = self._timeout(deadline)
            if timeout is None:
                break
            attempt += 1
            started = self._clock()
            try:
                response = self._session.post(url, json=payload, headers=headers, timeout=timeout)
            except requests.RequestException as error:
                failure = _transport_error(error)
                failure.__cause__ = error
            else:
                body = _json_or_none(response)
                if 200 <= response.status_code < 300 and (sent := _sent_message(body)) is not None:
                    logger.info(
                        "Meta accepted the message",
                        extra={**log_context, "attempt": attempt, "wamid": sent.wamid, "elapsed_ms": self._ms(started)},
                    )
                    return sent
                failure = meta_error_from_response(
                    response.status_code, body if body is not None else response.text, headers=response.headers
                )
            last_error = failure
            may_have_reached_meta = may_have_reached_meta or failure.outcome_unknown
            will_retry = _retry_in_call(failure) and attempt < self._settings.max_attempts
            delay = self._backoff(attempt, failure.retry_after_seconds) if will_retry else None
            if delay is not None and deadline is not None and self._clock() + delay + MIN_ATTEMPT_SECONDS > deadline:
                delay = None
            logger.warning(
                "Meta send attempt failed",
                extra={
                    **log_context,
                    "attempt": attempt,
                    "error_class": type(failure).__name__,
                    "meta_code": failure.code,
                    "meta_title": failure.title,
                    "http_status": failure.http_status,
                    "fbtrace_id": failure.fbtrace_id,
                    "outcome_unknown": failure.outcome_unknown,
                    "retry_in_seconds": None if delay is None else round(delay, 3),
                    "elapsed_ms": self._ms(started),
                },
            )
            if delay is None:
                break
            self._sleep(delay)
        raise self._final_error(last_error, may_have_reached_meta, attempt)

    def mark_read(self, phone_number_id: str, wamid: str, *, deadline: float | None = None) -> None:
        """Mark an inbound message read (the customer sees blue ticks): POST /{phone_number_id}/messages
        `{"messaging_product": "whatsapp", "status": "read", "message_id": wamid}`. Meta marks every earlier
        message of the chat read too, so one call covers them all. One attempt: a receipt is a courtesy, and an
        agent's request must not wait through retries for it. Raises a MetaError subclass when Meta does not
        answer `{"success": true}`."""
        if not phone_number_id:
            raise MetaNotConfigured("No WhatsApp phone number id to mark messages read from")
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        timeout = self._timeout(deadline)
        if timeout is None:
            raise MetaUnavailable("No time left to call Meta before the deadline", retryable=True)
        payload = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
        try:
            response = self._session.post(
                self.messages_url(phone_number_id), json=payload, headers=headers, timeout=timeout
            )
        except requests.RequestException as error:
            raise _transport_error(error) from error
        body = _json_or_none(response)
        if 200 <= response.status_code < 300 and isinstance(body, Mapping) and body.get("success") is True:
            return
        raise meta_error_from_response(
            response.status_code, body if body is not None else response.text, headers=response.headers
        )

    def upload_media(
        self, phone_number_id: str, content: bytes, *, mime_type: str, filename: str, deadline: float | None = None
    ) -> str:
        """POST /{version}/{phone-number-id}/media (multipart: messaging_product, type, file): the media id a
        message then names. An upload sends nothing to anyone, so it is retried like a refused send (5xx, 429,
        connection failures) within the deadline. Raises a MetaError subclass."""
        url = f"{self._settings.graph_url.rstrip('/')}/{self._settings.api_version}/{phone_number_id}/media"
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        last_error: MetaError | None = None
        for attempt in range(1, self._settings.max_attempts + 1):
            timeout = self._timeout(deadline)
            if timeout is None:
                break
            try:
                response = self._session.post(
                    url,
                    headers=headers,
                    data={"messaging_product": "whatsapp", "type": mime_type},
                    files={"file": (filename, content, mime_type)},
                    timeout=(timeout[0], max(timeout[1], 30.0)),
                )
            except requests.RequestException as error:
                last_error = _transport_error(error)
                last_error.retryable = True  # an upload reaches no one: safe to repeat
            else:
                body = _json_or_none(response)
                media_id = body.get("id") if isinstance(body, Mapping) else None
                if 200 <= response.status_code < 300 and isinstance(media_id, str) and media_id:
                    return media_id
                last_error = meta_error_from_response(
                    response.status_code, body if body is not None else response.text, headers=response.headers
                )
            if not (last_error.retryable or _retry_in_call(last_error)) or attempt >= self._settings.max_attempts:
                break
            delay = self._backoff(attempt, last_error.retry_after_seconds)
            if delay is None or (deadline is not None and self._clock() + delay + MIN_ATTEMPT_SECONDS > deadline):
                break
            self._sleep(delay)
        if last_error is None:
            raise MetaUnavailable("No time left to call Meta before the deadline", retryable=True)
        last_error.outcome_unknown = False  # whatever happened to the upload, no message went out
        raise last_error

    def media_info(self, media_id: str) -> MediaInfo:
        """GET /{version}/{media-id} with the access token: one attempt (the copy step's queue retries for hours,
        so a failure is reported, not slept through). Raises a MetaError subclass; `retryable` says whether a later
        attempt may succeed (an id Meta no longer knows answers code 100 and is not)."""
        url = f"{self._settings.graph_url.rstrip('/')}/{self._settings.api_version}/{media_id}"
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        try:
            response = self._session.get(url, headers=headers, timeout=self._timeout(None))
        except requests.RequestException as error:
            raise _transport_error(error) from error
        body = _json_or_none(response)
        if 200 <= response.status_code < 300 and (info := _media_info(media_id, body)) is not None:
            return info
        raise meta_error_from_response(
            response.status_code, body if body is not None else response.text, headers=response.headers
        )

    def download_media(self, url: str, *, max_bytes: int) -> bytes:
        """GET the file at a media URL (from media_info) with the access token, read in chunks and refused past
        `max_bytes`. An expired URL answers 4xx: a later attempt asks media_info for a fresh one."""
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        connect, _ = self._settings.connect_timeout_seconds, self._settings.read_timeout_seconds
        try:
            with self._session.get(url, headers=headers, timeout=(connect, 60.0), stream=True) as response:
                if not 200 <= response.status_code < 300:
                    body = response.content[:4096]
                    raise MetaUnavailable(
                        f"media download answered HTTP {response.status_code}",
                        http_status=response.status_code,
                        details=body.decode("utf-8", "replace")[:200] or None,
                        retryable=True,
                    )
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise MediaTooLarge(f"media is {declared} bytes, over the {max_bytes}-byte limit")
                chunks: list[bytes] = []
                received = 0
                for chunk in response.iter_content(chunk_size=256 * 1024):
                    received += len(chunk)
                    if received > max_bytes:
                        raise MediaTooLarge(f"media is over the {max_bytes}-byte limit")
                    chunks.append(chunk)
                return b"".join(chunks)
        except requests.RequestException as error:
            failure = _transport_error(error)
            failure.retryable = True  # a download changes nothing at Meta: any transport failure may be retried
            raise failure from error

    def graph_get(self, path: str, params: dict[str, str], *, deadline: float | None = None) -> Any:
        """GET /{version}/{path} with `params`: the parsed JSON of a 2xx answer. One attempt (the reads that use it
        are re-run by their caller: a sync, the scheduled run); raises a MetaError subclass otherwise."""
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        timeout = self._timeout(deadline)
        if timeout is None:
            raise MetaUnavailable("No time left to call Meta before the deadline", retryable=True)
        url = f"{self._settings.graph_url.rstrip('/')}/{self._settings.api_version}/{path}"
        try:
            response = self._session.get(url, params=params, headers=headers, timeout=timeout)
        except requests.RequestException as error:
            raise _transport_error(error) from error
        body = _json_or_none(response)
        if 200 <= response.status_code < 300 and body is not None:
            return body
        raise meta_error_from_response(
            response.status_code, body if body is not None else response.text, headers=response.headers
        )

    def _access_token(self) -> str:
        try:
            token = self._settings.access_token()
        except Exception as error:
            # Secrets Manager unreachable or the secret unreadable: nothing was sent, so a later retry is safe.
            raise MetaUnavailable(
                "Could not read the Meta access token from Secrets Manager", retryable=True
            ) from error
        if not token:
            raise MetaNotConfigured("No Meta access token (set META_ACCESS_TOKEN, or META_SECRET_ARN in AWS)")
        return token

    def _timeout(self, deadline: float | None) -> tuple[float, float] | None:
        connect, read = self._settings.connect_timeout_seconds, self._settings.read_timeout_seconds
        if deadline is None:
            return connect, read
        remaining = deadline - self._clock()
        if remaining < MIN_ATTEMPT_SECONDS:
            return None
        return min(connect, remaining), min(read, remaining)

    @staticmethod
    def _backoff(attempt: int, retry_after: float | None) -> float | None:
        if retry_after is not None and retry_after > MAX_IN_CALL_WAIT_SECONDS:
            return None
        # Full jitter: spreads retries from many containers hitting the same limit at once.
        jitter = random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)))  # noqa: S311
        return max(retry_after or 0.0, jitter)

    def _ms(self, started: float) -> int:
        return int((self._clock() - started) * 1000)

    @staticmethod
    def _final_error(last_error: MetaError | None, may_have_reached_meta: bool, attempts: int) -> MetaError:
        if last_error is None:
            return MetaUnavailable("No time left to call Meta before the deadline", retryable=True)
        last_error.attempts = attempts
        if may_have_reached_meta and not last_error.outcome_unknown:
            # A later refusal says nothing about an earlier attempt that may have been delivered.
            error = MetaUnavailable(
                f"An earlier attempt may have reached Meta; the last answer was: {last_error}",
                code=last_error.code,
                title=last_error.title,
                details=last_error.details,
                http_status=last_error.http_status,
                fbtrace_id=last_error.fbtrace_id,
                retry_after_seconds=last_error.retry_after_seconds,
                outcome_unknown=True,
            )
            error.attempts = attempts
            error.__cause__ = last_error
            return error
        return last_error


@lru_cache(maxsize=1)
def get_meta_client() -> MetaClient:
    """The container's client: built on first use, its session (and pooled connections) kept while warm."""
    return MetaClient(get_meta_settings())


def reset_meta_client() -> None:
    """Forget the client and the settings (tests and `make dev` change the environment between uses)."""
    if get_meta_client.cache_info().currsize:
        get_meta_client().close()
    get_meta_client.cache_clear()
    get_meta_settings.cache_clear()
    clear_secret_cache()
