"""POST /api/messages/send and /v1/messages/send: the 24-hour window, Meta's answers over real HTTP, the recorded
message, Idempotency-Key replays, and a database that fails after Meta accepted."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from devtools import fake_graph as graph
from tests.support.database import table_counts
from tests.support.send import WhatsAppTenant, call_send, customer_wrote, make_whatsapp_tenant, outbound_messages

PHONE = "+15551234567"


@pytest.fixture
def tenant(admin: psycopg.Connection[Any]) -> WhatsAppTenant:
    return make_whatsapp_tenant(admin)


@pytest.fixture
def open_window(tenant: WhatsAppTenant) -> int:
    return customer_wrote(tenant, phone=PHONE, ago=timedelta(hours=1))


def test_a_text_inside_the_window_is_sent_and_recorded(admin, fake_graph, tenant, open_window):
    status, body = call_send({"recipient": PHONE, "body": "Your order has shipped"}, tenant_id=tenant.tenant_id)

    assert status == 200, body
    assert set(body) == {"success", "message", "meta_id"} and body["success"] is True
    message = body["message"]
    assert body["meta_id"] == message["meta_id"] and message["meta_id"].startswith("wamid.")
    assert (
        message | {} == message
        and {
            "direction": "outbound",
            "type": "text",
            "status": "sent",
            "source": "manual_ui",
            "content": "Your order has shipped",
            "conversation_id": open_window,
        }.items()
        <= message.items()
    )
    (request,) = fake_graph.send_requests
    assert request.phone_number_id == tenant.phone_number_id
    assert request.json["to"] == "15551234567"
    assert request.json["type"] == "text" and request.json["text"]["body"] == "Your order has shipped"
    (row,) = outbound_messages(admin, tenant.tenant_id)
    assert (row["status"], row["meta_id"], row["source"]) == ("sent", body["meta_id"], "manual_ui")
    # Our id travels to Meta so its status webhooks can find the row even if our own update never happened.
    assert request.json["biz_opaque_callback_data"] == row["external_id"]


def test_the_v1_path_and_any_spelling_of_the_number_reach_the_same_contact(admin, fake_graph, tenant, open_window):
    status, body = call_send(
        {"recipient": "+1 (555) 123-4567", "body": "Hi"}, tenant_id=tenant.tenant_id, event_file="send-v1.json"
    )
    assert status == 200, body
    assert body["message"]["conversation_id"] == open_window


@pytest.mark.parametrize(
    ("ago", "sent"),
    [(timedelta(hours=23, minutes=59), True), (timedelta(hours=24, minutes=1), False)],
    ids=["just-inside", "just-outside"],
)
def test_the_window_is_24_hours_from_the_last_inbound_message(admin, fake_graph, tenant, ago, sent):
    customer_wrote(tenant, phone=PHONE, ago=ago)
    before = table_counts(admin)

    status, body = call_send({"recipient": PHONE, "body": "Still there?"}, tenant_id=tenant.tenant_id)

    if sent:
        assert status == 200, body
        assert len(fake_graph.send_requests) == 1
    else:
        assert (status, body) == (400, {"error": "Session window expired"})
        assert fake_graph.send_requests == []
        assert table_counts(admin) == before


def test_an_unknown_recipient_is_404_and_meta_is_not_called(admin, fake_graph, tenant, open_window):
    before = table_counts(admin)
    status, body = call_send({"recipient": "+449999999999", "body": "Hi"}, tenant_id=tenant.tenant_id)
    assert (status, body) == (404, {"error": "Contact not found"})
    assert fake_graph.send_requests == [] and table_counts(admin) == before


def test_another_tenants_contact_is_not_found(admin, fake_graph, tenant, open_window):
    other = make_whatsapp_tenant(admin)
    status, body = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=other.tenant_id)
    assert (status, body) == (404, {"error": "Contact not found"})
    assert fake_graph.send_requests == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("", "Request body is required"),
        ("not json", "Request body must be valid JSON"),
        ("[]", "Request body must be a JSON object"),
        ({"recipient": PHONE}, "body: is required"),
        ({"body": "Hi"}, "recipient: is required"),
        ({"recipient": PHONE, "body": ""}, "body: must not be empty"),
        ({"recipient": PHONE, "body": "x" * 4097}, "body: must be at most 4096 characters"),
        ({"recipient": PHONE, "body": 42}, "body: must be a string"),
        ({"recipient": "", "body": "Hi"}, "recipient: must not be empty"),
        ({"recipient": PHONE, "body": "Hi", "bcc": "x"}, "bcc: is not a known field"),
        ({"recipient": PHONE, "body": "nul \x00"}, "body: must not contain NUL characters"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(admin, fake_graph, tenant, open_window, body, error):
    before = table_counts(admin)
    status, answer = call_send(body, tenant_id=tenant.tenant_id)
    assert (status, answer) == (400, {"error": error})
    assert table_counts(admin) == before and fake_graph.send_requests == []


def test_a_4096_character_body_is_accepted(fake_graph, tenant, open_window):
    status, body = call_send({"recipient": PHONE, "body": "x" * 4096}, tenant_id=tenant.tenant_id)
    assert status == 200, body


def test_a_token_without_a_tenant_is_401(fake_graph, tenant, open_window):
    status, body = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=None)
    assert (status, body) == (401, {"error": "Unauthorized"})


def test_meta_131047_closes_the_window_and_answers_like_an_expired_window(admin, fake_graph, tenant, open_window):
    fake_graph.script(graph.meta_error(131047, "Re-engagement message"))

    status, body = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id)

    assert (status, body) == (400, {"error": "Session window expired"})
    (row,) = outbound_messages(admin, tenant.tenant_id)
    assert (row["status"], row["error_code"]) == ("failed", 131047)
    window_closed = admin.execute(
        "SELECT window_expires_at <= now() FROM conversations WHERE id = %s", (open_window,)
    ).fetchone()
    assert window_closed == (True,)
    # The next attempt is refused before Meta is called.
    assert call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id)[0] == 400
    assert len(fake_graph.send_requests) == 1


def test_other_meta_errors_are_502_with_metas_code_and_title(admin, fake_graph, tenant, open_window):
    fake_graph.script(graph.meta_error(131026, "Message undeliverable", details="Receiver is incapable"))

    status, body = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id)

    assert status == 502
    assert body["code"] == 131026 and body["title"] == "Message undeliverable"
    assert body["details"] == "Receiver is incapable" and "Message undeliverable" in body["error"]
    (row,) = outbound_messages(admin, tenant.tenant_id)
    assert (row["status"], row["error_code"], row["error_title"]) == ("failed", 131026, "Message undeliverable")


def test_a_rate_limit_is_retried_and_the_message_sent_once(admin, fake_graph, tenant, open_window):
    fake_graph.script(graph.rate_limited(retry_after=0), graph.success("wamid.after-rate-limit"))

    status, body = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id)

    assert status == 200, body
    assert body["meta_id"] == "wamid.after-rate-limit"
    assert len(fake_graph.send_requests) == 2
    assert [row["status"] for row in outbound_messages(admin, tenant.tenant_id)] == ["sent"]


@pytest.mark.parametrize(
    "failure",
    [graph.server_error(500), graph.malformed_json()],
    ids=["meta-500", "malformed-json"],
)
def test_an_unconfirmed_send_stays_pending_and_a_retry_with_the_key_does_not_resend(
    admin, fake_graph, tenant, open_window, failure
):
    fake_graph.script(*[failure] * 5)
    key = str(uuid.uuid4())

    first = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id, idempotency_key=key)
    calls_after_first = len(fake_graph.send_requests)
    retry = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id, idempotency_key=key)

    assert first[0] == 502 and "may still be delivered" in first[1]["error"]
    assert retry == first
    assert len(fake_graph.send_requests) == calls_after_first
    (row,) = outbound_messages(admin, tenant.tenant_id)
    assert row["status"] == "pending"


def test_a_read_timeout_is_not_retried_and_reported_as_unconfirmed(admin, fake_graph, tenant, open_window, monkeypatch):
    monkeypatch.setenv("META_READ_TIMEOUT_SECONDS", "0.3")
    from threadline.meta.client import reset_meta_client

    reset_meta_client()
    fake_graph.script(graph.delayed(1.0))

    status, body = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id)

    assert status == 502 and "may still be delivered" in body["error"]
    assert len(fake_graph.send_requests) == 1
    assert [row["status"] for row in outbound_messages(admin, tenant.tenant_id)] == ["pending"]


def test_meta_unreachable_marks_the_message_failed_and_frees_the_key(
    admin, fake_graph, tenant, open_window, monkeypatch
):
    from threadline.meta.client import reset_meta_client

    monkeypatch.setenv("META_GRAPH_URL", graph.unused_local_url())
    reset_meta_client()
    key = str(uuid.uuid4())

    status, body = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id, idempotency_key=key)
    assert status == 502 and "not sent" in body["error"]
    assert [row["status"] for row in outbound_messages(admin, tenant.tenant_id)] == ["failed"]

    # Nothing reached Meta, so the same key may be used again once Meta is back.
    monkeypatch.setenv("META_GRAPH_URL", fake_graph.base_url)
    reset_meta_client()
    status, body = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id, idempotency_key=key)
    assert status == 200, body
    assert len(fake_graph.send_requests) == 1


def test_a_retried_request_replays_the_first_answer_without_calling_meta(admin, fake_graph, tenant, open_window):
    key = str(uuid.uuid4())
    first = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id, idempotency_key=key)
    again = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id, idempotency_key=key)

    assert first[0] == 200 and again == first
    assert len(fake_graph.send_requests) == 1
    assert len(outbound_messages(admin, tenant.tenant_id)) == 1


def test_a_key_reused_for_a_different_request_is_refused(admin, fake_graph, tenant, open_window):
    key = str(uuid.uuid4())
    assert call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id, idempotency_key=key)[0] == 200
    status, body = call_send({"recipient": PHONE, "body": "Other"}, tenant_id=tenant.tenant_id, idempotency_key=key)
    assert status == 422 and "different request" in body["error"]
    assert len(fake_graph.send_requests) == 1


def test_keys_are_per_tenant(admin, fake_graph, tenant, open_window):
    other = make_whatsapp_tenant(admin)
    customer_wrote(other, phone=PHONE, ago=timedelta(minutes=5))
    key = str(uuid.uuid4())
    assert call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id, idempotency_key=key)[0] == 200
    assert call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=other.tenant_id, idempotency_key=key)[0] == 200
    assert len(fake_graph.send_requests) == 2


def test_concurrent_replays_of_one_key_call_meta_exactly_once(admin, fake_graph, tenant, open_window):
    # Meta is slow, so every replay arrives while the first attempt is still in flight.
    fake_graph.script(graph.delayed(0.8, graph.success("wamid.only-once")))
    key = str(uuid.uuid4())
    answers: list[tuple[int, Any]] = []

    def send() -> None:
        answers.append(call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id, idempotency_key=key))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(fake_graph.send_requests) == 1
    assert [status for status, _ in answers] == [200] * 6
    assert {body["meta_id"] for _, body in answers} == {"wamid.only-once"}
    assert len(outbound_messages(admin, tenant.tenant_id)) == 1


class DatabaseOutage:
    """Takes this test session's database down (not the shared server): new connections are refused and the
    functions' open ones killed. PostgreSQL will not let a database refuse connections from inside itself, so the
    switch is flipped from the `postgres` database."""

    def __init__(self, admin: psycopg.Connection[Any], server: psycopg.Connection[Any]) -> None:
        self.admin, self.server = admin, server
        self.database = admin.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]

    def start(self) -> None:
        self.server.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false')
        _kill_app_connections(self.admin)

    def end(self) -> None:
        self.server.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true')


@pytest.fixture
def database_outage(admin: psycopg.Connection[Any], database_url: str) -> Iterator[DatabaseOutage]:
    from devtools.postgres import with_database

    with psycopg.connect(with_database(database_url, "postgres"), autocommit=True) as server:
        outage = DatabaseOutage(admin, server)
        try:
            yield outage
        finally:
            outage.end()


def _kill_app_connections(admin: psycopg.Connection[Any]) -> None:
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE usename = 'threadline_app' AND datname = current_database()"
    )


def test_a_dropped_database_connection_after_meta_accepted_is_retried(admin, fake_graph, tenant, open_window):
    fake_graph.script(graph.hook(lambda: _kill_app_connections(admin), graph.success("wamid.kept")))

    status, body = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id)

    assert status == 200, body
    assert "warning" not in body
    (row,) = outbound_messages(admin, tenant.tenant_id)
    assert (row["status"], row["meta_id"]) == ("sent", "wamid.kept")


def test_a_database_down_after_meta_accepted_still_reports_the_send(
    admin, database_outage, fake_graph, tenant, open_window
):
    fake_graph.script(graph.hook(database_outage.start, graph.success("wamid.not-lost")))

    status, body = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id)

    # Meta sent it: the client must hear "sent" (never a failure that invites a second send), with the wamid.
    assert status == 200, body
    assert fake_graph.hook_errors == []
    assert body["meta_id"] == "wamid.not-lost" and body["warning"]
    (row,) = outbound_messages(admin, tenant.tenant_id)
    # The row is still pending, and carries the id Meta's status webhook will echo back to complete it.
    assert row["status"] == "pending"
    assert fake_graph.send_requests[0].json["biz_opaque_callback_data"] == row["external_id"]


def test_a_retry_after_an_abandoned_attempt_answers_from_metas_confirmation(
    admin, database_outage, fake_graph, tenant, open_window
):
    key = str(uuid.uuid4())
    fake_graph.script(graph.hook(database_outage.start, graph.success("wamid.confirmed-later")))
    first = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id, idempotency_key=key)
    database_outage.end()
    assert first[0] == 200 and first[1]["warning"]

    # Still unconfirmed: a retry must not send again, and cannot claim success yet.
    admin.execute("UPDATE idempotency_keys SET created_at = now() - interval '2 minutes'")
    status, body = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id, idempotency_key=key)
    assert status == 409 and "still in progress" in body["error"]

    # Meta's status webhook completes the row (as the webhook does, by our id echoed back)...
    (row,) = outbound_messages(admin, tenant.tenant_id)
    admin.execute(
        "UPDATE messages SET status = 'delivered', meta_id = %s WHERE id = %s", ("wamid.confirmed-later", row["id"])
    )
    # ...and the retry now answers with the message as sent, still without calling Meta again.
    status, body = call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id, idempotency_key=key)
    assert status == 200 and body["meta_id"] == "wamid.confirmed-later"
    assert body["message"]["status"] == "delivered"
    assert len(fake_graph.send_requests) == 1
