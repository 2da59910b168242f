"""The Meta client over real HTTP against the fake Graph API: payloads, error codes, retries, timeouts and deadlines."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devtools.fake_graph import (
    FakeGraphApi,
    delayed,
    hook,
    malformed_json,
    meta_error,
    rate_limited,
    server_error,
    success,
    unused_local_url,
)
from tests.support.fakes import FAKE_META_ACCESS_TOKEN, FAKE_META_API_VERSION, FAKE_META_PHONE_NUMBER_ID
from threadline.meta.client import MetaClient, SentMessage, get_meta_client, reset_meta_client
from threadline.meta.config import MetaSettings, get_meta_settings
from threadline.meta.errors import (
    MetaAccountRestricted,
    MetaAuthError,
    MetaError,
    MetaInvalidParameter,
    MetaNotConfigured,
    MetaRateLimited,
    MetaRecipientNotAllowed,
    MetaRecipientUnavailable,
    MetaUnavailable,
    MetaWindowClosed,
    meta_error_from_response,
)
from threadline.meta.messages import text_payload

RECIPIENT = "+1 (555) 123-4567"


def send(payload: dict[str, Any] | None = None, *, deadline: float | None = None) -> SentMessage:
    return get_meta_client().send_message(
        FAKE_META_PHONE_NUMBER_ID, payload or text_payload(RECIPIENT, "Hello"), deadline=deadline
    )


def send_failure(payload: dict[str, Any] | None = None, *, deadline: float | None = None) -> MetaError:
    with pytest.raises(MetaError) as raised:
        send(payload, deadline=deadline)
    return raised.value


def reconfigure(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    reset_meta_client()


def test_success_sends_metas_payload_with_the_bearer_token(fake_graph: FakeGraphApi) -> None:
    # Given
    payload = text_payload(RECIPIENT, "Hello there", callback_data="out_123")

    # When
    sent = send(payload)

    # Then: Meta's wamid and wa_id come back; the request is exactly what Meta documents
    assert sent.wamid.startswith("wamid.") and sent.wa_id == "15551234567"
    [request] = fake_graph.requests
    assert request.method == "POST"
    assert request.path == f"/{FAKE_META_API_VERSION}/{FAKE_META_PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {FAKE_META_ACCESS_TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.json == payload


def test_one_client_and_one_pooled_connection_per_container(fake_graph: FakeGraphApi) -> None:
    assert get_meta_client() is get_meta_client()

    first, second = send(), send()

    assert first.wamid != second.wamid
    ports = {request.client_port for request in fake_graph.requests}
    assert len(ports) == 1, "the second send should reuse the first one's connection"


@pytest.mark.parametrize(
    ("code", "title", "http_status", "expected_class"),
    [
        (131047, "Re-engagement message", 400, MetaWindowClosed),
        (131026, "Message undeliverable", 400, MetaRecipientUnavailable),
        (131056, "(Business Account, Consumer Account) pair rate limit hit", 400, MetaRateLimited),
        (131030, "Recipient phone number not in allowed list", 400, MetaRecipientNotAllowed),
        (190, "Access token has expired", 401, MetaAuthError),
        (100, "Invalid parameter", 400, MetaInvalidParameter),
        (368, "Temporarily blocked for policies violations", 403, MetaAccountRestricted),
    ],
)
def test_meta_errors_are_typed_by_code_and_not_retried(
    fake_graph: FakeGraphApi, code: int, title: str, http_status: int, expected_class: type[MetaError]
) -> None:
    # Given Meta refuses once, and would accept a second try
    fake_graph.script(
        meta_error(code, title, http_status=http_status, details=f"why {code}", subcode=2494010), success()
    )

    # When
    error = send_failure()

    # Then: the right class, with Meta's code, title and details kept; the refusal is final, so one request
    assert type(error) is expected_class
    assert (error.code, error.title, error.details, error.http_status) == (code, title, f"why {code}", http_status)
    assert error.subcode == 2494010 and error.fbtrace_id
    assert error.outcome_unknown is False
    assert len(fake_graph.requests) == 1


def test_pair_rate_limit_is_left_to_the_caller_with_the_wait(fake_graph: FakeGraphApi) -> None:
    fake_graph.script(meta_error(131056, "pair rate limit hit"), success())

    error = send_failure()

    assert isinstance(error, MetaRateLimited) and error.retryable
    assert error.retry_after_seconds == 6.0
    assert len(fake_graph.requests) == 1


def test_throughput_limit_then_success_is_retried_once(fake_graph: FakeGraphApi) -> None:
    fake_graph.script(rate_limited(), success(wamid="wamid.SECOND"))

    sent = send()

    assert sent.wamid == "wamid.SECOND"
    assert len(fake_graph.requests) == 2
    assert fake_graph.requests[0].json == fake_graph.requests[1].json


def test_throughput_limit_every_time_gives_up_after_the_attempts(fake_graph: FakeGraphApi) -> None:
    fake_graph.script(*[rate_limited()] * 5)

    error = send_failure()

    assert isinstance(error, MetaRateLimited) and error.code == 130429
    assert error.outcome_unknown is False, "every attempt was refused: nothing was sent"
    assert error.attempts == get_meta_settings().max_attempts == len(fake_graph.requests)


def test_retry_after_is_honoured(fake_graph: FakeGraphApi) -> None:
    fake_graph.script(rate_limited(retry_after=1), success())

    send()

    first, second = fake_graph.requests
    assert second.received_at - first.received_at >= 1.0


def test_server_error_then_success(fake_graph: FakeGraphApi) -> None:
    fake_graph.script(server_error(500), success(wamid="wamid.AFTER500"))

    assert send().wamid == "wamid.AFTER500"
    assert len(fake_graph.requests) == 2


def test_server_errors_until_attempts_run_out_leave_the_outcome_unknown(fake_graph: FakeGraphApi) -> None:
    fake_graph.script(server_error(500), server_error(502), meta_error(2, "API Service", http_status=503), success())

    error = send_failure()

    assert isinstance(error, MetaUnavailable)
    assert error.outcome_unknown is True
    assert (error.http_status, error.code) == (503, 2)
    assert error.attempts == len(fake_graph.requests) == 3
    assert fake_graph.pending_replies == 1


def test_a_refusal_after_a_server_error_still_leaves_the_outcome_unknown(fake_graph: FakeGraphApi) -> None:
    # The 500 may have been delivered; the later refusal says nothing about it.
    fake_graph.script(server_error(500), meta_error(131047, "Re-engagement message"))

    error = send_failure()

    assert isinstance(error, MetaUnavailable) and error.outcome_unknown
    assert error.code == 131047
    assert isinstance(error.__cause__, MetaWindowClosed)


def test_read_timeout_is_not_retried_and_the_outcome_is_unknown(
    fake_graph: FakeGraphApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Meta takes longer than the read timeout, and would answer a second try at once
    reconfigure(monkeypatch, META_READ_TIMEOUT_SECONDS="0.3")
    fake_graph.script(delayed(2.0, success()), success())

    # When
    started = time.monotonic()
    error = send_failure()

    # Then
    assert isinstance(error, MetaUnavailable)
    assert error.outcome_unknown is True
    assert time.monotonic() - started < 1.5
    assert len(fake_graph.requests) == 1
    assert fake_graph.pending_replies == 1


def test_connection_refused_is_retried_and_nothing_was_sent() -> None:
    client = MetaClient(MetaSettings.model_validate({"META_GRAPH_URL": unused_local_url(), "META_ACCESS_TOKEN": "t"}))

    with pytest.raises(MetaUnavailable) as raised:
        client.send_message("123", text_payload(RECIPIENT, "Hi"))

    assert raised.value.outcome_unknown is False
    assert raised.value.retryable is True
    assert raised.value.attempts == 3


def test_malformed_json_is_not_retried_and_the_outcome_is_unknown(fake_graph: FakeGraphApi) -> None:
    fake_graph.script(malformed_json(), success())

    error = send_failure()

    assert isinstance(error, MetaUnavailable) and error.outcome_unknown
    assert len(fake_graph.requests) == 1


def test_no_attempt_starts_after_the_deadline(fake_graph: FakeGraphApi) -> None:
    error = send_failure(deadline=time.monotonic() - 0.01)

    assert isinstance(error, MetaUnavailable)
    assert error.outcome_unknown is False, "nothing was sent"
    assert fake_graph.requests == []


def test_no_backoff_crosses_the_deadline(fake_graph: FakeGraphApi) -> None:
    # Given Meta asks for a 2 s pause but only 1 s is left
    fake_graph.script(rate_limited(retry_after=2), success())

    started = time.monotonic()
    error = send_failure(deadline=started + 1.0)

    # Then: the rate limit comes back at once instead of a sleep past the deadline
    assert isinstance(error, MetaRateLimited)
    assert time.monotonic() - started < 0.9
    assert len(fake_graph.requests) == 1


def test_timeouts_are_clipped_to_the_deadline(fake_graph: FakeGraphApi, monkeypatch: pytest.MonkeyPatch) -> None:
    reconfigure(monkeypatch, META_READ_TIMEOUT_SECONDS="10")
    fake_graph.script(delayed(3.0, success()))

    started = time.monotonic()
    error = send_failure(deadline=started + 0.6)

    assert isinstance(error, MetaUnavailable) and error.outcome_unknown
    assert time.monotonic() - started < 1.5


def test_missing_token_is_a_configuration_error_and_nothing_is_sent(
    fake_graph: FakeGraphApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("META_ACCESS_TOKEN")
    reset_meta_client()

    error = send_failure()

    assert isinstance(error, MetaNotConfigured)
    assert "META_ACCESS_TOKEN" in error.message
    assert fake_graph.requests == []


def test_the_token_never_reaches_the_logs(
    fake_graph: FakeGraphApi, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_graph.script(server_error(500), success(), meta_error(190, "Access token has expired", http_status=401))

    send()
    error = send_failure()

    out, err = capfd.readouterr()
    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records) + out + err
    assert "Meta send attempt failed" in logged, "the check below must look at real log output"
    assert FAKE_META_ACCESS_TOKEN not in logged
    assert FAKE_META_ACCESS_TOKEN not in f"{error} {error!r} {error.__dict__}"


# The sandbox: unscripted, the fake answers like Meta.


def test_sandbox_refuses_a_request_without_a_token(fake_graph: FakeGraphApi) -> None:
    url = get_meta_client().messages_url(FAKE_META_PHONE_NUMBER_ID)

    response = requests.post(url, json=text_payload(RECIPIENT, "Hi"), timeout=5)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == 190
    assert isinstance(meta_error_from_response(response.status_code, response.json()), MetaAuthError)


def test_sandbox_refuses_a_malformed_payload_with_code_100(fake_graph: FakeGraphApi) -> None:
    error = send_failure({"messaging_product": "whatsapp", "to": RECIPIENT, "type": "text", "text": {}})

    assert isinstance(error, MetaInvalidParameter)
    assert error.code == 100 and "text['body']" in (error.details or "")


def test_a_hook_runs_while_the_request_is_in_flight(fake_graph: FakeGraphApi) -> None:
    seen: list[int] = []
    fake_graph.script(hook(lambda: seen.append(len(fake_graph.requests)), success(wamid="wamid.HOOKED")))

    assert send().wamid == "wamid.HOOKED"
    assert seen == [1]
    assert fake_graph.hook_errors == []


# Credentials from Secrets Manager (AWS), read by threadline.aws.secrets from moto's server.


@pytest.fixture
def meta_secret(secrets_manager: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("META_ACCESS_TOKEN", "META_APP_SECRET", "META_VERIFY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield secrets_manager
    reset_meta_client()


def test_credentials_come_from_the_json_secret_and_are_cached(
    fake_graph: FakeGraphApi, meta_secret: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the credentials live in one JSON secret, and nothing in the environment
    secret = {"access_token": "token-from-secrets-manager", "app_secret": "s3cret", "verify_token": "verify-me"}
    arn = meta_secret.client.create_secret(Name="threadline/meta", SecretString=json.dumps(secret))["ARN"]
    reconfigure(monkeypatch, META_SECRET_ARN=arn, META_SECRET_MAX_AGE_SECONDS="300")
    settings = get_meta_settings()

    # When / Then: each value is read from the secret
    assert (settings.access_token(), settings.app_secret(), settings.verify_token()) == (
        "token-from-secrets-manager",
        "s3cret",
        "verify-me",
    )
    send()
    assert fake_graph.requests[-1].headers["authorization"] == "Bearer token-from-secrets-manager"

    # And a rotated secret is only read again once the cache is cleared (or max_age has passed)
    meta_secret.client.put_secret_value(SecretId=arn, SecretString=json.dumps(secret | {"access_token": "rotated"}))
    assert settings.access_token() == "token-from-secrets-manager"
    reset_meta_client()
    assert get_meta_settings().access_token() == "rotated"


def test_an_environment_token_overrides_the_secret(meta_secret: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = meta_secret.client.create_secret(Name="threadline/meta-2", SecretString='{"access_token": "from-secret"}')[
        "ARN"
    ]
    reconfigure(monkeypatch, META_SECRET_ARN=arn, META_ACCESS_TOKEN="from-env")

    assert get_meta_settings().access_token() == "from-env"


def test_an_unreachable_secret_is_a_retryable_failure_before_any_send(
    fake_graph: FakeGraphApi, meta_secret: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reconfigure(monkeypatch, META_SECRET_ARN="arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf")

    error = send_failure()

    assert isinstance(error, MetaUnavailable)
    assert error.retryable and not error.outcome_unknown
    assert fake_graph.requests == []


# `make dev`'s wiring: the sandbox unless the developer configured Meta.


def test_dev_without_meta_settings_starts_the_sandbox_and_sends_reach_it() -> None:
    from devtools.localenv import LOCAL_META_APP_SECRET, LOCAL_META_VERIFY_TOKEN, configure_local_meta

    environ: dict[str, str] = {"META_PHONE_NUMBER_ID": ""}  # the template's empty default
    announced: list[str] = []

    meta = configure_local_meta(environ, default_phone_number_id="100000000000001", announce=announced.append)
    try:
        # Then the environment points at the running sandbox, loudly
        assert meta.sandbox is not None
        assert environ["META_GRAPH_URL"] == meta.graph_url == meta.sandbox.base_url
        assert environ["META_ACCESS_TOKEN"] == "sandbox"
        assert environ["META_PHONE_NUMBER_ID"] == "100000000000001"
        assert environ["META_APP_SECRET"] == LOCAL_META_APP_SECRET
        assert environ["META_VERIFY_TOKEN"] == LOCAL_META_VERIFY_TOKEN
        assert meta.webhook_secrets == {
            "META_APP_SECRET": LOCAL_META_APP_SECRET,
            "META_VERIFY_TOKEN": LOCAL_META_VERIFY_TOKEN,
        }
        assert meta.notice.startswith("SANDBOX:") and "nothing reaches Meta" in meta.notice

        # And a send made with those settings is answered like Meta, and announced
        client = MetaClient(MetaSettings.model_validate(environ))
        sent = client.send_message(environ["META_PHONE_NUMBER_ID"], text_payload(RECIPIENT, "Hi from dev"))
        assert sent.wamid.startswith("wamid.") and sent.wa_id == "15551234567"
        assert len(announced) == 1 and sent.wamid in announced[0] and "SANDBOX" in announced[0]
        client.close()
    finally:
        if meta.sandbox is not None:
            meta.sandbox.stop()


def test_dev_with_an_endpoint_and_a_token_uses_them_as_given() -> None:
    from devtools.localenv import configure_local_meta

    environ = {
        "META_GRAPH_URL": "https://graph.example.test",
        "META_ACCESS_TOKEN": "real-token",
        "META_APP_SECRET": "my-app-secret",
    }

    meta = configure_local_meta(environ, default_phone_number_id="100000000000001")

    assert meta.sandbox is None
    assert environ["META_GRAPH_URL"] == meta.graph_url == "https://graph.example.test"
    assert environ["META_ACCESS_TOKEN"] == "real-token"
    assert "META_PHONE_NUMBER_ID" not in environ
    assert environ["META_APP_SECRET"] == "my-app-secret"
    assert meta.webhook_secrets == {"META_VERIFY_TOKEN": environ["META_VERIFY_TOKEN"]}
    assert "https://graph.example.test" in meta.notice and "SANDBOX" not in meta.notice
    assert "real-token" not in meta.notice


def test_dev_with_a_secret_arn_leaves_the_credentials_to_the_secret() -> None:
    from devtools.localenv import configure_local_meta

    environ = {"META_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:meta-AbCdEf"}

    meta = configure_local_meta(environ)

    assert meta.sandbox is None and meta.graph_url == "https://graph.facebook.com"
    assert set(environ) == {"META_SECRET_ARN"}, "local variables would shadow the secret's values"
    assert "Secrets Manager" in meta.notice
