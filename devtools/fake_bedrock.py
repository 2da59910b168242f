"""A fake of Amazon Bedrock's Converse API: a real HTTP server on 127.0.0.1, for tests and for `make dev`.

boto3's `bedrock-runtime` client reaches it through BEDROCK_ENDPOINT_URL and speaks to it exactly as to Bedrock:
`POST /model/{modelId}/converse` with Converse's JSON, answered with Converse's JSON, errors named by the
`x-amzn-ErrorType` header as Bedrock names them (moto does not implement Converse). Requests are not authenticated.

Tests script answers (`script(...)`: a text reply, an error status, a delay) and read back what was asked
(`requests`, each with the parsed Converse body). Unscripted, it answers as a sandbox: a canned reply quoting the
user's latest message, which is what `make dev` uses when no model is configured.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import unquote

from devtools import fake_server
from devtools.fake_server import Answer, ScriptedHttpFake

_CONVERSE_PATH = re.compile(r"^/model/(?P<model_id>[^/]+)/converse$")
SANDBOX_MODEL_ID = "sandbox.local-echo-v1:0"


@dataclass(frozen=True)
class RecordedRequest(fake_server.RecordedRequest):
    @property
    def model_id(self) -> str | None:
        """Decoded from the path; None when the path is not Converse's."""
        found = _CONVERSE_PATH.match(self.path)
        return unquote(found["model_id"]) if found else None

    @property
    def is_converse(self) -> bool:
        return self.method == "POST" and self.model_id is not None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.json or {}).get("messages") or [])

    @property
    def texts(self) -> list[tuple[str, str]]:
        """(role, text) per message, its text blocks joined: what the model was shown."""
        return [
            (str(message.get("role")), "".join(block.get("text", "") for block in message.get("content") or []))
            for message in self.messages
        ]


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `kind`: "sandbox" answers as unscripted; "text" answers Converse's success body with
    `text`; "error" answers `status` with Bedrock's error shape (`error_type`, `message`)."""

    kind: Literal["sandbox", "text", "error"] = "sandbox"
    text: str = ""
    status: int = 200
    error_type: str = ""
    message: str = ""
    stop_reason: str = "end_turn"
    delay_seconds: float = 0.0


def text(reply: str, *, stop_reason: str = "end_turn") -> Reply:
    return Reply(kind="text", text=reply, stop_reason=stop_reason)


def error(status: int, error_type: str, message: str) -> Reply:
    return Reply(kind="error", status=status, error_type=error_type, message=message)


def validation_error(message: str = "Malformed input request, please reformat your input and try again.") -> Reply:
    return error(400, "ValidationException", message)


def throttled() -> Reply:
    return error(429, "ThrottlingException", "Too many requests, please wait before trying again.")


def access_denied() -> Reply:
    return error(
        403,
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/threadline-capture/fn is not authorized to perform: "
        "bedrock:InvokeModel",
    )


def server_error() -> Reply:
    return error(500, "InternalServerException", "The server encountered an internal error.")


def delayed(seconds: float, then: Reply | None = None) -> Reply:
    """Wait before answering (`then`, or the sandbox answer): past the client's read timeout, this is a timeout."""
    return replace(then or Reply(), delay_seconds=seconds)


def _converse_body(reply_text: str, stop_reason: str, request: RecordedRequest) -> bytes:
    prompt_characters = sum(len(text) for _, text in request.texts)
    usage = {"inputTokens": prompt_characters // 4 + 1, "outputTokens": len(reply_text) // 4 + 1}
    usage["totalTokens"] = usage["inputTokens"] + usage["outputTokens"]
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": reply_text}]}},
        "stopReason": stop_reason,
        "usage": usage,
        "metrics": {"latencyMs": 5},
    }
    return json.dumps(body).encode()


def sandbox_reply(request: RecordedRequest) -> str:
    latest = next((text for role, text in reversed(request.texts) if role == "user"), "")
    quoted = latest if len(latest) <= 200 else latest[:200] + "..."
    return f"(sandbox reply from the local fake Bedrock) You said: {quoted}"


def _error_answer(status: int, error_type: str, message: str) -> Answer:
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        "x-amzn-RequestId": "00000000-0000-4000-8000-000000000000",
    }
    return status, headers, json.dumps({"message": message}).encode()


class FakeBedrock(ScriptedHttpFake[RecordedRequest, Reply]):
    """Bedrock's Converse endpoint on 127.0.0.1:<free port>. Thread-safe; use as a context manager."""

    request_type = RecordedRequest
    name = "the fake Bedrock endpoint"
    thread_name = "fake-bedrock"

    # Reply constructors, also importable from this module.
    text = staticmethod(text)
    error = staticmethod(error)
    validation_error = staticmethod(validation_error)
    throttled = staticmethod(throttled)
    access_denied = staticmethod(access_denied)
    server_error = staticmethod(server_error)
    delayed = staticmethod(delayed)

    def _answer(self, request: RecordedRequest) -> Answer | None:
        reply = self._receive(request, scripted=request.is_converse) or Reply()
        if self._stopped_during(reply.delay_seconds):
            return None
        if reply.kind == "error":
            return _error_answer(reply.status, reply.error_type, reply.message)
        if not request.is_converse:
            return _error_answer(404, "UnknownOperationException", "The fake only implements Converse")
        if not isinstance(request.json, dict) or not request.messages:
            return _error_answer(400, "ValidationException", "messages: at least one message is required")
        if reply.kind == "text":
            return 200, {"Content-Type": "application/json"}, _converse_body(reply.text, reply.stop_reason, request)
        answer = sandbox_reply(request)
        if self._announce is not None:
            self._announce(f"SANDBOX: language model request for {request.model_id} answered locally (not Bedrock)")
        return 200, {"Content-Type": "application/json"}, _converse_body(answer, "end_turn", request)


def _aws_credentials_available(env: MutableMapping[str, str]) -> bool:
    if env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE"):
        return True
    import botocore.session

    try:
        return botocore.session.get_session().get_credentials() is not None
    except Exception:  # a broken profile: the developer's to fix, not ours to paper over
        return True


def _forget_cached_settings() -> None:
    # Never imports the domain module: that would create Powertools' Logger and Metrics before `make dev` has
    # exported the template's POWERTOOLS_* settings, which they read once.
    from threadline.bedrock.config import get_llm_settings

    get_llm_settings.cache_clear()
    llm = sys.modules.get("threadline.bedrock.client")
    if llm is not None:
        llm.reset_llm_client()


@dataclass
class LocalBedrock:
    """Where `make dev`'s replies come from: the sandbox (stopped by the caller) or the developer's configuration."""

    sandbox: FakeBedrock | None
    notice: str


_SETTINGS = ("BEDROCK_MODEL_ID", "BEDROCK_ENDPOINT_URL")


def configure_local_bedrock(
    environ: MutableMapping[str, str] | None = None, *, announce: Callable[[str], None] | None = None
) -> LocalBedrock:
    """With neither BEDROCK_MODEL_ID nor BEDROCK_ENDPOINT_URL set by the developer, start the sandbox and point the
    functions at it (process=true then answers with a canned reply, nothing reaches AWS); otherwise leave the
    developer's configuration alone. Call before the template's environment is exported, so only the developer's
    own settings count."""
    env = os.environ if environ is None else environ
    # Present counts, even empty: BEDROCK_MODEL_ID= (empty) asks for no model at all, to try processingError.
    if any(name in env for name in _SETTINGS):
        model = env.get("BEDROCK_MODEL_ID") or "(none: replies answer 'No language model is configured')"
        where = env.get("BEDROCK_ENDPOINT_URL") or f"Amazon Bedrock in {env.get('BEDROCK_REGION') or 'AWS_REGION'}"
        _forget_cached_settings()
        return LocalBedrock(sandbox=None, notice=f"Session replies (process=true) use model {model} at {where}")
    sandbox = FakeBedrock(announce=announce).start()
    env["BEDROCK_MODEL_ID"] = SANDBOX_MODEL_ID
    env["BEDROCK_ENDPOINT_URL"] = sandbox.base_url
    # boto3 signs every request, even to the sandbox, and without credentials refuses to send: only when the
    # developer has none at all (env, profile, SSO...) does the sandbox get placeholder ones.
    if not _aws_credentials_available(env):
        env["AWS_ACCESS_KEY_ID"] = env["AWS_SECRET_ACCESS_KEY"] = "sandbox"  # noqa: S105 - never leaves this machine
    _forget_cached_settings()
    notice = (
        f"SANDBOX: session replies (process=true) come from a local fake Bedrock at {sandbox.base_url} with a canned "
        "answer; nothing reaches AWS (set BEDROCK_MODEL_ID, and AWS credentials, to use Amazon Bedrock)"
    )
    return LocalBedrock(sandbox=sandbox, notice=notice)
