"""Meta's error answers become typed errors by code, and message payloads come out exactly as Meta documents them."""

from __future__ import annotations

import json

import pytest

from threadline.meta.errors import (
    PAIR_RATE_LIMIT_WAIT_SECONDS,
    MetaAccountRestricted,
    MetaApiError,
    MetaAuthError,
    MetaInvalidParameter,
    MetaRateLimited,
    MetaRecipientNotAllowed,
    MetaRecipientUnavailable,
    MetaUnavailable,
    MetaWindowClosed,
    meta_error_from_error_object,
    meta_error_from_response,
)
from threadline.meta.messages import (
    MAX_CALLBACK_DATA_CHARS,
    MAX_TEXT_BODY_CHARS,
    media_payload,
    template_payload,
    text_payload,
)


def graph_error(code: int, title: str, details: str = "Some details", **extra: object) -> dict[str, object]:
    return {
        "error": {
            "message": f"(#{code}) {title}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "AbCdEf123",
            **extra,
        }
    }


@pytest.mark.parametrize(
    ("code", "expected_class", "retryable"),
    [
        (131047, MetaWindowClosed, False),
        (131026, MetaRecipientUnavailable, False),
        (130429, MetaRateLimited, True),
        (131056, MetaRateLimited, True),
        (4, MetaRateLimited, True),
        (80007, MetaRateLimited, True),
        (131030, MetaRecipientNotAllowed, False),
        (190, MetaAuthError, False),
        (10, MetaAuthError, False),
        (100, MetaInvalidParameter, False),
        (368, MetaAccountRestricted, False),
        (131000, MetaApiError, True),
        (999999, MetaApiError, False),
    ],
)
def test_the_class_follows_the_code(code: int, expected_class: type, retryable: bool) -> None:
    # Given an error answer whose title is misleading on purpose: only the code may decide the class
    body = graph_error(code, "Rate limit hit" if code == 131047 else "Some title", details=f"details of {code}")

    # When
    error = meta_error_from_response(400, body)

    # Then
    assert type(error) is expected_class
    assert (error.code, error.details, error.http_status, error.fbtrace_id) == (
        code,
        f"details of {code}",
        400,
        "AbCdEf123",
    )
    assert error.retryable is retryable
    assert error.outcome_unknown is False


def test_title_comes_from_the_message_and_the_raw_message_is_kept() -> None:
    error = meta_error_from_response(400, graph_error(131047, "Re-engagement message", error_subcode=2494010))

    assert error.title == "Re-engagement message"
    assert error.message == "(#131047) Re-engagement message"
    assert error.subcode == 2494010
    assert str(error) == "(#131047) Re-engagement message: Some details"
    assert error.as_fields() == {"code": 131047, "title": "Re-engagement message", "details": "Some details"}


def test_a_message_without_the_code_prefix_falls_back_to_the_documented_title() -> None:
    body = {"error": {"message": "Invalid OAuth access token - Cannot parse access token", "code": 190}}

    error = meta_error_from_response(401, json.dumps(body).encode())

    assert isinstance(error, MetaAuthError)
    assert error.title == "Access token has expired"
    assert error.message == "Invalid OAuth access token - Cannot parse access token"
    assert error.details is None


def test_pair_rate_limit_says_how_long_to_wait_and_retry_after_overrides_it() -> None:
    pair = meta_error_from_response(400, graph_error(131056, "pair rate limit hit"))
    throughput = meta_error_from_response(400, graph_error(130429, "Rate limit hit"), headers={"Retry-After": "3"})

    assert pair.retry_after_seconds == PAIR_RATE_LIMIT_WAIT_SECONDS
    assert throughput.retry_after_seconds == 3.0


def test_a_bare_429_is_a_rate_limit_even_without_graph_error_object() -> None:
    error = meta_error_from_response(429, "Too Many Requests", headers={"retry-after": "2"})

    assert isinstance(error, MetaRateLimited)
    assert error.code is None and error.retry_after_seconds == 2.0 and error.retryable


@pytest.mark.parametrize("body", [graph_error(2, "API Service"), "<html>502 Bad Gateway</html>", None])
def test_5xx_means_the_outcome_is_unknown_whatever_the_body(body: object) -> None:
    error = meta_error_from_response(503, body)

    assert isinstance(error, MetaUnavailable)
    assert error.outcome_unknown is True and error.http_status == 503
    if isinstance(body, dict):
        assert (error.code, error.title) == (2, "API Service")


def test_an_unreadable_success_is_unavailable_with_unknown_outcome() -> None:
    error = meta_error_from_response(200, b'{"messages": [')

    assert isinstance(error, MetaUnavailable) and error.outcome_unknown


def test_a_4xx_without_graph_error_object_is_a_plain_refusal() -> None:
    error = meta_error_from_response(404, "<html>Not Found</html>")

    assert type(error) is MetaApiError
    assert error.code is None and error.http_status == 404 and not error.retryable and not error.outcome_unknown


def test_webhook_error_objects_map_the_same_way() -> None:
    # Status webhooks carry {"code", "title", "message", "error_data": {"details"}}
    error = meta_error_from_error_object(
        {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {"details": "Message failed to send because more than 24 hours have passed"},
        }
    )

    assert isinstance(error, MetaWindowClosed)
    assert error.title == "Re-engagement message"
    assert error.details == "Message failed to send because more than 24 hours have passed"


# Payloads


def test_text_payload_is_metas_shape_with_context_and_callback_data() -> None:
    payload = text_payload("+15551234567", "Hello", reply_to="wamid.IN", callback_data="out_1", preview_url=True)

    assert payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+15551234567",
        "type": "text",
        "context": {"message_id": "wamid.IN"},
        "biz_opaque_callback_data": "out_1",
        "text": {"preview_url": True, "body": "Hello"},
    }


def test_text_payload_leaves_out_what_was_not_given() -> None:
    payload = text_payload("15551234567", "Hi")

    assert "context" not in payload and "biz_opaque_callback_data" not in payload
    assert payload["text"] == {"preview_url": False, "body": "Hi"}


@pytest.mark.parametrize(
    ("media_type", "extra", "expected_media"),
    [
        ("image", {"caption": "Look"}, {"link": "https://x.test/a.png", "caption": "Look"}),
        ("video", {"caption": "Watch"}, {"link": "https://x.test/a.png", "caption": "Watch"}),
        ("audio", {}, {"link": "https://x.test/a.png"}),
        (
            "document",
            {"caption": "Invoice", "filename": "invoice.pdf"},
            {"link": "https://x.test/a.png", "caption": "Invoice", "filename": "invoice.pdf"},
        ),
    ],
)
def test_media_payloads_by_link(media_type: str, extra: dict[str, str], expected_media: dict[str, str]) -> None:
    payload = media_payload("15551234567", media_type, "https://x.test/a.png", callback_data="cb", **extra)  # type: ignore[arg-type]

    assert payload["type"] == media_type
    assert payload[media_type] == expected_media
    assert payload["biz_opaque_callback_data"] == "cb"


def test_template_payload() -> None:
    components = [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]

    payload = template_payload("15551234567", "order_update", "en_US", components, callback_data="cb")

    assert payload["type"] == "template"
    assert payload["template"] == {"name": "order_update", "language": {"code": "en_US"}, "components": components}
    assert payload["biz_opaque_callback_data"] == "cb"
    assert "components" not in template_payload("15551234567", "hello_world", "en_US")["template"]


@pytest.mark.parametrize(
    "build",
    [
        lambda: text_payload("15551234567", "   "),
        lambda: text_payload("15551234567", "x" * (MAX_TEXT_BODY_CHARS + 1)),
        lambda: text_payload("", "Hi"),
        lambda: text_payload("15551234567", "Hi", callback_data="x" * (MAX_CALLBACK_DATA_CHARS + 1)),
        lambda: media_payload("15551234567", "audio", "https://x.test/a.ogg", caption="no captions on audio"),
        lambda: media_payload("15551234567", "image", "https://x.test/a.png", filename="a.png"),
        lambda: media_payload("15551234567", "sticker", "https://x.test/a.webp"),  # type: ignore[arg-type]
        lambda: template_payload("15551234567", "", "en_US"),
    ],
)
def test_builders_refuse_what_meta_would_refuse(build) -> None:
    with pytest.raises(ValueError):
        build()
