"""Amazon Bedrock's Converse API (boto3 `bedrock-runtime`): one reply to a list of turns, within a deadline.

Time: the caller gives a deadline (its function must still answer after the reply is saved). Each attempt's read
timeout stops in time for it; throttling, transient server errors and refused connections are tried again while
`BEDROCK_MAX_ATTEMPTS` and the deadline allow; a timed-out attempt is not repeated (there would be no time left).
Turns are merged so that roles alternate and the first turn is the user's (Converse refuses anything else).

Failures raise LlmFailure with a sentence the API caller may see. Bedrock's own messages can name the account and
its role (AccessDenied), so those are logged, and only validation messages (about the request itself) are passed on.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from threadline.bedrock.config import LlmSettings, get_llm_settings
from threadline.observability import logger, tracer

NOT_CONFIGURED_MESSAGE = "No language model is configured"
TIMEOUT_MESSAGE = "The language model did not answer in time"
# An attempt with less time than this left would only fail: give up instead.
_MIN_ATTEMPT_SECONDS = 1.0
_RETRYABLE_ERROR_CODES = frozenset(
    {"ThrottlingException", "ServiceUnavailableException", "InternalServerException", "ModelNotReadyException"}
)
_BACKOFF_BASE_SECONDS = 0.25
_BACKOFF_CAP_SECONDS = 2.0
_MAX_PASSED_ON_CHARS = 300

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str


class LlmFailure(Exception):
    """The model gave no reply; `message` is safe to show the API caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def converse_messages(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """Converse's `messages`: consecutive turns of one role merged (several captured user messages in a row are
    one user turn), leading assistant turns dropped (the first must be the user's)."""
    merged: list[Turn] = []
    for turn in turns:
        if not merged and turn.role == "assistant":
            continue
        if merged and merged[-1].role == turn.role:
            merged[-1] = Turn(turn.role, f"{merged[-1].text}\n\n{turn.text}")
        else:
            merged.append(turn)
    return [{"role": turn.role, "content": [{"text": turn.text}]} for turn in merged]


@lru_cache(maxsize=8)
def _bedrock_client(region: str, endpoint_url: str | None, connect_timeout: float, read_timeout: float) -> Any:
    # Imported here: only requests that ask for a reply pay for boto3's import, never a function's cold start.
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # Retries are ours (below): they must respect the function's deadline, which botocore cannot know.
        retries={"total_max_attempts": 1, "mode": "standard"},
        user_agent_extra="threadline",
    )
    return boto3.client("bedrock-runtime", region_name=region, endpoint_url=endpoint_url or None, config=config)


def reset_llm_client() -> None:
    """Forget the cached settings and clients (their environment changed: tests, `make dev`)."""
    get_llm_settings.cache_clear()
    _bedrock_client.cache_clear()


def _converse_request(settings: LlmSettings, turns: Sequence[Turn]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "modelId": settings.model_id.strip(),
        "messages": converse_messages(turns),
        "inferenceConfig": {"maxTokens": settings.max_tokens},
    }
    if settings.system_prompt.strip():
        request["system"] = [{"text": settings.system_prompt}]
    return request


def _reply_text(response: dict[str, Any]) -> str:
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    text = "".join(block["text"] for block in content if isinstance(block, dict) and isinstance(block.get("text"), str))
    if response.get("stopReason") == "max_tokens":
        logger.warning("language model reply cut at maxTokens", extra={"usage": response.get("usage")})
    if not text.strip():
        raise LlmFailure("The language model returned no text")
    return text


def _failure_for(code: str, message: str) -> LlmFailure:
    if code == "ValidationException":
        return LlmFailure(f"The language model refused the request: {message[:_MAX_PASSED_ON_CHARS]}")
    if code == "ThrottlingException":
        return LlmFailure("The language model is busy (ThrottlingException); try again shortly")
    if code == "ModelTimeoutException":
        return LlmFailure(TIMEOUT_MESSAGE)
    if code in ("AccessDeniedException", "UnrecognizedClientException"):
        return LlmFailure(f"The language model could not be called ({code})")
    if code == "ResourceNotFoundException":
        return LlmFailure("The configured language model was not found (ResourceNotFoundException)")
    return LlmFailure(f"The language model failed ({code})")


def _pause_before_retry(attempt: int, deadline: float) -> bool:
    """Back off before the next attempt; False when the deadline leaves no time for one."""
    pause = min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)  # noqa: S311
    if time.monotonic() + pause + _MIN_ATTEMPT_SECONDS > deadline:
        return False
    time.sleep(pause)
    return True


@tracer.capture_method(capture_response=False)
def generate_reply(turns: Sequence[Turn], *, deadline: float) -> str:
    """The model's reply to `turns` (oldest first, the user's latest last), or LlmFailure. `deadline` is a
    time.monotonic() value by which this must have returned."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        EndpointConnectionError,
        ReadTimeoutError,
    )
    from botocore.exceptions import ConnectionError as BotocoreConnectionError

    settings = get_llm_settings()
    if not settings.is_configured:
        raise LlmFailure(NOT_CONFIGURED_MESSAGE)
    request = _converse_request(settings, turns)
    for attempt in range(1, settings.max_attempts + 1):
        time_left = deadline - time.monotonic()
        if time_left < _MIN_ATTEMPT_SECONDS:
            raise LlmFailure(TIMEOUT_MESSAGE)
        # Whole seconds, so that warm invocations share one cached client.
        read_timeout = float(max(1, int(min(settings.read_timeout_seconds, time_left))))
        client = _bedrock_client(
            settings.effective_region,
            settings.endpoint_url,
            min(settings.connect_timeout_seconds, read_timeout),
            read_timeout,
        )
        try:
            return _reply_text(client.converse(**request))
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code") or "UnknownError")
            message = str(error.response.get("Error", {}).get("Message") or "")
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            logger.warning(
                "language model call failed",
                extra={"code": code, "status": status, "bedrock_message": message, "attempt": attempt},
            )
            retryable = code in _RETRYABLE_ERROR_CODES or status == 429 or status >= 500
            if not retryable or attempt == settings.max_attempts or not _pause_before_retry(attempt, deadline):
                raise _failure_for(code, message) from None
        except ReadTimeoutError:
            logger.warning("language model call timed out", extra={"read_timeout": read_timeout, "attempt": attempt})
            raise LlmFailure(TIMEOUT_MESSAGE) from None
        except (EndpointConnectionError, ConnectionClosedError, BotocoreConnectionError) as error:
            logger.warning("language model unreachable", extra={"error": str(error), "attempt": attempt})
            if attempt == settings.max_attempts or not _pause_before_retry(attempt, deadline):
                raise LlmFailure("The language model could not be reached") from None
        except BotoCoreError as error:  # no credentials, bad configuration, unparseable answer
            logger.error("language model call failed", extra={"error": str(error)})
            raise LlmFailure(f"The language model could not be called ({type(error).__name__})") from None
    raise AssertionError("unreachable")
