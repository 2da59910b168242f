"""Meta's Graph API errors as typed exceptions, chosen by `code`.

Meta asks integrators to branch on `code` and `error_data.details`, never on the title (titles are folded into
`message` as "(#131047) Re-engagement message" and are being deprecated), so the class is picked by code and the
title is kept only for people reading logs.

Two questions every caller has after a failed send, answered on every error:
- `retryable`: is the failure transient, so the same request may succeed later (rate limits, outages)?
- `outcome_unknown`: may Meta have accepted the message anyway (read timeout, 5xx, unreadable reply)? Then the
  caller must not record the message as unsent, and resending it risks a duplicate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

# Titles Meta documents for the codes we branch on: used when a reply's message has no "(#code) title" prefix.
KNOWN_TITLES: dict[int, str] = {
    0: "AuthException",
    1: "API Unknown",
    2: "API Service",
    4: "API Too Many Calls",
    10: "Permission Denied",
    100: "Invalid parameter",
    190: "Access token has expired",
    368: "Temporarily blocked for policies violations",
    80007: "Rate limit issues",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service unavailable",
    131026: "Message undeliverable",
    131030: "Recipient phone number not in allowed list",
    131031: "Account has been locked",
    131047: "Re-engagement message",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    133004: "Server temporarily unavailable",
}

# Meta's pair rate limit allows about one message every 6 seconds from one business number to one user.
PAIR_RATE_LIMIT_WAIT_SECONDS = 6.0

# Codes for Meta-side trouble that clears by itself (outages, overload): worth retrying later.
_TRANSIENT_CODES = frozenset({1, 2, 131000, 131016, 133004})

_TITLE_IN_MESSAGE = re.compile(r"^\(#(\d+)\)\s*(.+)$", re.DOTALL)


class MetaError(Exception):
    """Base of every failure to get a usable answer from Meta's Graph API."""

    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        title: str | None = None,
        details: str | None = None,
        http_status: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
        error_type: str | None = None,
        retry_after_seconds: float | None = None,
        retryable: bool | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.title = title or (KNOWN_TITLES.get(code) if code is not None else None) or message
        self.details = details
        self.http_status = http_status
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.error_type = error_type
        # Seconds Meta (Retry-After) or its documented limit says to wait before sending again.
        self.retry_after_seconds = retry_after_seconds
        self.retryable = self.default_retryable if retryable is None else retryable
        self.outcome_unknown = outcome_unknown
        # How many requests the client made before giving up (set by the client on the error it raises).
        self.attempts = 1

    def __str__(self) -> str:
        prefix = f"(#{self.code}) " if self.code is not None else ""
        text = f"{prefix}{self.title}"
        return f"{text}: {self.details}" if self.details and self.details != self.title else text

    def as_fields(self) -> dict[str, Any]:
        """The parts worth showing an API caller (for ThreadlineError `fields=`): code, title and details."""
        return {"code": self.code, "title": self.title, "details": self.details}


class MetaApiError(MetaError):
    """An error answer from Meta: the request was refused, so nothing was sent."""


class MetaWindowClosed(MetaApiError):
    """131047: more than 24 hours since the customer last wrote; only a template message may be sent."""


class MetaRecipientUnavailable(MetaApiError):
    """131026: the number is not on WhatsApp, has blocked the business, or runs an old client."""


class MetaRateLimited(MetaApiError):
    """130429 (number throughput), 131056 (pair rate), 4 (app call rate), 80007 (account rate), or an HTTP 429."""

    default_retryable = True


class MetaRecipientNotAllowed(MetaApiError):
    """131030: a test number may only message the recipients on its allowed list."""


class MetaAuthError(MetaApiError):
    """190 and friends: the access token is invalid or expired, or lacks the permission for this number."""


class MetaInvalidParameter(MetaApiError):
    """100 and friends: the request itself is wrong (unknown phone number id, bad payload)."""


class MetaAccountRestricted(MetaApiError):
    """368 / 131031: the business account is restricted or locked for policy reasons."""


class MetaUnavailable(MetaError):
    """No usable answer: connection failure, timeout, 5xx after retries, or a reply that cannot be read.

    `outcome_unknown` is True when the request may have reached Meta (read timeout, 5xx, malformed reply)."""

    default_retryable = True


class MetaNotConfigured(MetaError):
    """Threadline cannot call Meta at all: no access token, or no phone number to send from."""


_CLASS_BY_CODE: dict[int, type[MetaApiError]] = {
    131047: MetaWindowClosed,
    131026: MetaRecipientUnavailable,
    130429: MetaRateLimited,
    131056: MetaRateLimited,
    4: MetaRateLimited,
    80007: MetaRateLimited,
    131030: MetaRecipientNotAllowed,
    0: MetaAuthError,
    10: MetaAuthError,
    190: MetaAuthError,
    100: MetaInvalidParameter,
    131008: MetaInvalidParameter,
    131009: MetaInvalidParameter,
    368: MetaAccountRestricted,
    131031: MetaAccountRestricted,
}


def meta_error_class_for_code(code: int | None) -> type[MetaApiError]:
    if code is not None and 200 <= code <= 299:  # Graph's "API Permission" range
        return MetaAuthError
    return _CLASS_BY_CODE.get(code, MetaApiError) if code is not None else MetaApiError


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _as_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (Meta sends the delta form; an HTTP date is not worth a parser here)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _parse_body(body: object) -> object:
    if isinstance(body, bytes | bytearray):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return None
    return body


def _error_fields(error: Mapping[str, Any]) -> dict[str, Any]:
    """Code, title, message and details of one Graph error object (the API's `error`, or a webhook's `errors[i]`)."""
    code = _as_int(error.get("code"))
    message = _as_text(error.get("message")) or ""
    title = _as_text(error.get("title"))
    prefixed = _TITLE_IN_MESSAGE.match(message)
    if title is None and prefixed and (code is None or int(prefixed[1]) == code):
        title = prefixed[2].strip()
    error_data = error.get("error_data")
    details = _as_text(error_data.get("details")) if isinstance(error_data, Mapping) else None
    return {
        "message": message or title or (KNOWN_TITLES.get(code, "") if code is not None else ""),
        "code": code,
        "title": title,
        "details": details,
        "subcode": _as_int(error.get("error_subcode")),
        "fbtrace_id": _as_text(error.get("fbtrace_id")),
        "error_type": _as_text(error.get("type")),
    }


def meta_error_from_error_object(error: Mapping[str, Any], *, http_status: int | None = None) -> MetaApiError:
    """The typed error for one Graph error object; webhook `statuses[].errors[]` entries have the same fields."""
    fields = _error_fields(error)
    cls = meta_error_class_for_code(fields["code"])
    retry_after = PAIR_RATE_LIMIT_WAIT_SECONDS if fields["code"] == 131056 else None
    transient = fields["code"] in _TRANSIENT_CODES
    return cls(
        fields.pop("message") or f"HTTP {http_status}",
        http_status=http_status,
        retry_after_seconds=retry_after,
        retryable=True if transient else None,
        **fields,
    )


def meta_error_from_response(http_status: int, body: object, *, headers: Mapping[str, str] | None = None) -> MetaError:
    """The error for a Graph API reply that is not a success. `body` may be parsed JSON, text or bytes."""
    parsed = _parse_body(body)
    error = parsed.get("error") if isinstance(parsed, Mapping) else None
    retry_after = parse_retry_after((headers or {}).get("Retry-After") or (headers or {}).get("retry-after"))
    if http_status >= 500 or 200 <= http_status < 300:
        # A 5xx, or a success we cannot read: Meta may have accepted the message before failing to say so.
        fields = _error_fields(error) if isinstance(error, Mapping) else {}
        message = fields.pop("message", None) or (
            f"Meta answered HTTP {http_status}" if http_status >= 500 else "Meta's reply could not be read"
        )
        return MetaUnavailable(
            message, http_status=http_status, retry_after_seconds=retry_after, outcome_unknown=True, **fields
        )
    if isinstance(error, Mapping):
        typed = meta_error_from_error_object(error, http_status=http_status)
        if http_status == 429 and type(typed) is MetaApiError:
            typed = MetaRateLimited(typed.message, **_copy_fields(typed))
        if retry_after is not None:
            typed.retry_after_seconds = retry_after
        return typed
    if http_status == 429:
        return MetaRateLimited("Meta answered HTTP 429", http_status=429, retry_after_seconds=retry_after)
    # A 4xx without Graph's error object (a proxy, a wrong META_GRAPH_URL): refused, but not by Meta's rules.
    return MetaApiError(f"Meta answered HTTP {http_status} without an error object", http_status=http_status)


def _copy_fields(error: MetaError) -> dict[str, Any]:
    return {
        "code": error.code,
        "title": error.title,
        "details": error.details,
        "http_status": error.http_status,
        "subcode": error.subcode,
        "fbtrace_id": error.fbtrace_id,
        "error_type": error.error_type,
        "retry_after_seconds": error.retry_after_seconds,
    }
