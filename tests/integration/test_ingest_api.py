"""The Messaging Ingest API end to end through the real handler and a real PostgreSQL."""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.database import table_counts
from tests.support.ingest import batch, call_ingest, conversation, message
from tests.support.paths import load_event


def seed_example(event_file: str, connector) -> dict:
    body = json.loads(load_event(event_file)["body"])
    body["connection_id"] = connector.connection_id
    return body


class TestSeedExamples:
    def test_example_1_creates_the_conversation_with_both_messages(self, make_connector, admin):
        connector = make_connector("whatsapp")
        status, body = call_ingest(seed_example("ingest-seed-path.json", connector), api_key=connector.api_secret)

        assert status == 200
        assert body["success"] is True and body["processed"] == 1
        [result] = body["results"]
        assert result["messages_added"] == 2 and result["status"] == "created"
        row = admin.execute(
            "SELECT c.last_message_preview, c.last_message_at, k.name, k.identifier, k.last_interaction_at"
            " FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE c.id = %s",
            (result["conversation_id"],),
        ).fetchone()
        assert row[0] == "Hello! Thanks for reaching out. How can I help?"
        assert row[1].isoformat() == "2026-02-01T10:32:00+00:00"
        assert row[2:4] == ("John Doe", "+1234567890")
        # Only the inbound message opens the customer-service window.
        assert row[4].isoformat() == "2026-02-01T10:30:00+00:00"

    def test_example_2_two_telegram_conversations_with_media(self, make_connector, admin):
        connector = make_connector("telegram")
        status, body = call_ingest(
            seed_example("ingest-v1.json", connector), api_key=connector.api_secret, event_file="ingest-v1.json"
        )

        assert status == 200 and body["processed"] == 2
        assert [r["status"] for r in body["results"]] == ["created", "created"]
        assert [r["external_conversation_id"] for r in body["results"]] == ["chat_user_1", "chat_user_2"]
        media = admin.execute(
            "SELECT type, media_url FROM messages WHERE tenant_id = %s AND external_id = 'tg_msg_100'",
            (connector.tenant_id,),
        ).fetchone()
        assert media == ("image", "https://example.com/images/product.jpg")
        contacts = admin.execute(
            "SELECT identifier, phone_digits FROM contacts WHERE tenant_id = %s ORDER BY identifier",
            (connector.tenant_id,),
        ).fetchall()
        assert contacts == [("@janedoe", None), ("@johndoe", None)]

    def test_example_4_python_client_timestamp_without_offset_is_utc(self, make_connector, admin):
        connector = make_connector("signal")
        body = batch(
            connector,
            conversation(
                "signal_chat_001",
                "+1987654321",
                message("sig_msg_001", "2026-02-01T09:15:30.123456Z"),
                name="Alice Smith",
            ),
        )
        status, answer = call_ingest(body, api_key=connector.api_secret)
        assert status == 200 and answer["results"][0]["status"] == "created"

    def test_the_same_payload_again_adds_nothing(self, connector, admin):
        body = batch(connector, conversation("chat_1", "+15550001111", message("m1", "2026-02-01T10:00:00Z")))
        call_ingest(body, api_key=connector.api_secret)
        before = table_counts(admin)

        status, answer = call_ingest(body, api_key=connector.api_secret)

        assert status == 200
        assert answer["results"][0] | {"conversation_id": None} == {
            "conversation_id": None,
            "external_conversation_id": "chat_1",
            "messages_added": 0,
            "status": "no_new_messages",
        }
        assert table_counts(admin) == before

    def test_new_messages_in_a_known_conversation_report_updated(self, connector):
        first = batch(connector, conversation("chat_1", "+15550001111", message("m1", "2026-02-01T10:00:00Z")))
        call_ingest(first, api_key=connector.api_secret)
        second = batch(
            connector,
            conversation(
                "chat_1", "+15550001111", message("m1", "2026-02-01T10:00:00Z"), message("m2", "2026-02-01T10:05:00Z")
            ),
        )
        _, answer = call_ingest(second, api_key=connector.api_secret)
        assert answer["results"][0]["status"] == "updated" and answer["results"][0]["messages_added"] == 1

    def test_a_duplicate_id_inside_one_batch_is_stored_once(self, connector, admin):
        body = batch(
            connector,
            conversation(
                "chat_1", "+15550001111", message("m1", "2026-02-01T10:00:00Z"), message("m1", "2026-02-01T10:00:00Z")
            ),
        )
        _, answer = call_ingest(body, api_key=connector.api_secret)
        assert answer["results"][0]["messages_added"] == 1


class TestLastMessage:
    def test_follows_the_newest_message_whatever_the_batch_order(self, connector, admin):
        body = batch(
            connector,
            conversation(
                "chat_1",
                "+15550001111",
                message("late", "2026-02-01T12:00:00Z", content="newest"),
                message("early", "2026-02-01T08:00:00Z", content="oldest"),
            ),
        )
        _, answer = call_ingest(body, api_key=connector.api_secret)
        row = admin.execute(
            "SELECT last_message_preview, last_message_at FROM conversations WHERE id = %s",
            (answer["results"][0]["conversation_id"],),
        ).fetchone()
        assert row[0] == "newest" and row[1].hour == 12

    def test_never_moves_backwards_when_an_older_batch_arrives_late(self, connector, admin):
        call_ingest(
            batch(
                connector, conversation("chat_1", "+15550001111", message("new", "2026-02-02T09:00:00Z", content="new"))
            ),
            api_key=connector.api_secret,
        )
        _, answer = call_ingest(
            batch(
                connector,
                conversation(
                    "chat_1", "+15550001111", message("old", "2026-02-01T09:00:00Z", content="old", direction="inbound")
                ),
            ),
            api_key=connector.api_secret,
        )
        assert answer["results"][0]["status"] == "updated"
        row = admin.execute(
            "SELECT c.last_message_preview, c.last_message_at::date::text, k.last_interaction_at::date::text"
            " FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE c.id = %s",
            (answer["results"][0]["conversation_id"],),
        ).fetchone()
        assert row == ("new", "2026-02-02", "2026-02-02")

    def test_preview_is_cut_to_100_characters(self, connector, admin):
        _, answer = call_ingest(
            batch(
                connector,
                conversation("chat_1", "+15550001111", message("m", "2026-02-01T09:00:00Z", content="x" * 500)),
            ),
            api_key=connector.api_secret,
        )
        preview = admin.execute(
            "SELECT last_message_preview FROM conversations WHERE id = %s", (answer["results"][0]["conversation_id"],)
        ).fetchone()[0]
        assert preview == "x" * 100

    def test_outbound_messages_do_not_open_the_window(self, connector, admin):
        call_ingest(
            batch(
                connector,
                conversation("chat_1", "+15550001111", message("m", "2026-02-01T09:00:00Z", direction="outbound")),
            ),
            api_key=connector.api_secret,
        )
        assert admin.execute(
            "SELECT last_interaction_at FROM contacts WHERE tenant_id = %s", (connector.tenant_id,)
        ).fetchone() == (None,)


class TestContactMatching:
    def _contact_ids(self, admin, tenant_id):
        return admin.execute(
            "SELECT k.id FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE c.tenant_id = %s"
            " ORDER BY c.external_conversation_id",
            (tenant_id,),
        ).fetchall()

    def test_exact_phone_number_match_across_formats(self, connector, admin):
        call_ingest(
            batch(connector, conversation("a", "+1 (234) 567-890", message("m1", "2026-02-01T09:00:00Z"))),
            api_key=connector.api_secret,
        )
        call_ingest(
            batch(connector, conversation("b", "1234567890", message("m2", "2026-02-01T09:00:00Z"))),
            api_key=connector.api_secret,
        )
        ids = self._contact_ids(admin, connector.tenant_id)
        assert len(ids) == 2 and ids[0] == ids[1]

    def test_last_ten_digits_match_when_the_country_code_differs(self, connector, admin):
        call_ingest(
            batch(connector, conversation("a", "+447700900123", message("m1", "2026-02-01T09:00:00Z"), name="Ann")),
            api_key=connector.api_secret,
        )
        call_ingest(
            batch(connector, conversation("b", "07700900123", message("m2", "2026-02-01T09:00:00Z"))),
            api_key=connector.api_secret,
        )
        ids = self._contact_ids(admin, connector.tenant_id)
        assert ids[0] == ids[1]
        assert admin.execute(
            "SELECT count(*) FROM contacts WHERE tenant_id = %s", (connector.tenant_id,)
        ).fetchone() == (1,)

    def test_a_different_number_gets_its_own_contact(self, connector, admin):
        call_ingest(
            batch(connector, conversation("a", "+447700900123", message("m1", "2026-02-01T09:00:00Z"))),
            api_key=connector.api_secret,
        )
        call_ingest(
            batch(connector, conversation("b", "+447700900124", message("m2", "2026-02-01T09:00:00Z"))),
            api_key=connector.api_secret,
        )
        ids = self._contact_ids(admin, connector.tenant_id)
        assert ids[0] != ids[1]

    def test_usernames_match_on_themselves(self, make_connector, admin):
        connector = make_connector("telegram")
        call_ingest(
            batch(connector, conversation("a", "@JohnDoe", message("m1", "2026-02-01T09:00:00Z"))),
            api_key=connector.api_secret,
        )
        call_ingest(
            batch(connector, conversation("b", "@johndoe", message("m2", "2026-02-01T09:00:00Z"))),
            api_key=connector.api_secret,
        )
        call_ingest(
            batch(connector, conversation("c", "@janedoe", message("m3", "2026-02-01T09:00:00Z"))),
            api_key=connector.api_secret,
        )
        ids = self._contact_ids(admin, connector.tenant_id)
        assert ids[0] == ids[1] != ids[2]

    def test_contacts_are_never_shared_between_tenants(self, make_connector, admin):
        first, second = make_connector(), make_connector()
        for connector in (first, second):
            call_ingest(
                batch(connector, conversation("a", "+15550001111", message("m1", "2026-02-01T09:00:00Z"))),
                api_key=connector.api_secret,
            )
        assert admin.execute(
            "SELECT count(DISTINCT tenant_id) FROM contacts WHERE identifier = '+15550001111' AND tenant_id IN (%s, %s)",
            (first.tenant_id, second.tenant_id),
        ).fetchone() == (2,)


class TestConnectorAuthentication:
    def test_missing_header(self, connector, admin):
        before = table_counts(admin)
        assert call_ingest(batch(connector), api_key=None) == (401, {"error": "Missing x-api-key header"})
        assert table_counts(admin) == before

    def test_wrong_key(self, connector):
        assert call_ingest(batch(connector), api_key="tl_sk_not-it") == (401, {"error": "Invalid API key"})

    def test_unknown_connection(self, connector):
        body = batch(connector) | {"connection_id": "nope"}
        assert call_ingest(body, api_key=connector.api_secret) == (401, {"error": "Invalid connection_id or platform"})

    def test_platform_that_does_not_match_the_connection(self, connector):
        body = batch(connector) | {"platform": "telegram"}
        assert call_ingest(body, api_key=connector.api_secret) == (401, {"error": "Invalid connection_id or platform"})

    def test_another_connections_key(self, make_connector):
        mine, theirs = make_connector(), make_connector()
        assert call_ingest(batch(mine), api_key=theirs.api_secret) == (401, {"error": "Invalid API key"})

    def test_inactive_connection(self, connector, admin):
        from threadline.domain.intake.connections import deactivate_connection

        deactivate_connection(admin, connector.connection_id)
        before = table_counts(admin)
        body = batch(connector, conversation("a", "+15550001111", message("m1", "2026-02-01T09:00:00Z")))
        assert call_ingest(body, api_key=connector.api_secret) == (403, {"error": "Connection is inactive"})
        assert table_counts(admin) == before

    def test_only_the_digest_of_the_secret_is_stored(self, connector, admin):
        stored = admin.execute(
            "SELECT row_to_json(c)::text FROM connections c WHERE connection_id = %s", (connector.connection_id,)
        ).fetchone()[0]
        assert connector.api_secret not in stored


VALID_MESSAGE = {"id": "m1", "direction": "inbound", "type": "text", "content": "hi", "sent_at": "2026-02-01T10:00:00Z"}


def _with_message(connector, **changes):
    return batch(connector, conversation("chat_1", "+15550001111", {**VALID_MESSAGE, **changes}))


BAD_INPUTS = {
    "malformed JSON": (lambda c: '{"platform": "whatsapp",', "Request body must be valid JSON"),
    "a JSON array": (lambda c: "[]", "Request body must be a JSON object"),
    "a JSON string": (lambda c: '"hello"', "Request body must be a JSON object"),
    "an empty body": (lambda c: "", "Missing required fields: platform, connection_id, conversations"),
    "no conversations": (
        lambda c: {"platform": "whatsapp", "connection_id": c.connection_id},
        "Missing required fields: platform, connection_id, conversations",
    ),
    "no platform": (
        lambda c: {"connection_id": c.connection_id, "conversations": []},
        "Missing required fields: platform, connection_id, conversations",
    ),
    "unknown platform": (
        lambda c: batch(c) | {"platform": "icq"},
        "platform: must be one of 'whatsapp', 'signal', 'telegram' or 'wechat'",
    ),
    "conversations not a list": (lambda c: batch(c) | {"conversations": {"a": 1}}, "conversations: must be an array"),
    "numeric connection_id": (lambda c: batch(c) | {"connection_id": 123}, "connection_id: must be a string"),
    "unknown direction": (
        lambda c: _with_message(c, direction="sideways"),
        "conversations[0].messages[0].direction: must be one of 'inbound' or 'outbound'",
    ),
    "unknown type": (
        lambda c: _with_message(c, type="sticker"),
        "conversations[0].messages[0].type: must be one of 'text', 'image', 'audio', 'video', 'file' or 'location'",
    ),
    "not a timestamp": (
        lambda c: _with_message(c, sent_at="yesterday"),
        "conversations[0].messages[0].sent_at: must be an ISO 8601 timestamp",
    ),
    "epoch number timestamp": (
        lambda c: _with_message(c, sent_at=1769940000),
        "conversations[0].messages[0].sent_at: must be an ISO 8601 timestamp",
    ),
    "empty message id": (lambda c: _with_message(c, id=""), "conversations[0].messages[0].id: must not be empty"),
    "blank message id": (lambda c: _with_message(c, id="   "), "conversations[0].messages[0].id: must not be empty"),
    "image without media_url": (
        lambda c: _with_message(c, type="image"),
        "conversations[0].messages[0]: media_url is required for image messages",
    ),
    "content with NUL": (
        lambda c: _with_message(c, content="a\u0000b"),
        "conversations[0].messages[0].content: must not contain NUL characters",
    ),
    "content too long": (
        lambda c: _with_message(c, content="x" * 16385),
        "conversations[0].messages[0].content: must be at most 16384 characters",
    ),
    "empty conversation id": (
        lambda c: batch(c, conversation("", "+15550001111", VALID_MESSAGE)),
        "conversations[0].external_conversation_id: must not be empty",
    ),
    "too many conversations": (
        lambda c: batch(c, *[conversation(f"c{i}", "+15550001111") for i in range(201)]),
        "conversations: must have at most 200 items",
    ),
    "too many messages": (
        lambda c: batch(
            c,
            *[
                conversation(f"c{i}", "+15550001111", *[{**VALID_MESSAGE, "id": f"m{i}-{j}"} for j in range(101)])
                for i in range(10)
            ],
        ),
        "a request may carry at most 1000 messages (got 1010); split the batch",
    ),
    "a conversation twice": (
        lambda c: batch(c, conversation("same", "+15550001111"), conversation("same", "+15550001111")),
        "conversations[1].external_conversation_id repeats conversations[0]; send each conversation once per request",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_is_a_400_in_the_seed_shape_and_writes_nothing(case, connector, admin):
    make_body, expected_error = BAD_INPUTS[case]
    before = table_counts(admin)

    status, body = call_ingest(make_body(connector), api_key=connector.api_secret)

    assert (status, body) == (400, {"error": expected_error})
    assert table_counts(admin) == before


def test_twenty_concurrent_overlapping_requests_store_every_message_exactly_once(connector, admin):
    all_messages = [message(f"m{i:03}", f"2026-02-01T10:{i // 60:02}:{i % 60:02}Z") for i in range(120)]
    requests = [
        batch(
            connector,
            conversation("shared", "+15550001111", *all_messages[(n * 5) : (n * 5) + 40]),
            conversation(f"own-{n}", "+15550002222", message(f"own-{n}", "2026-02-01T11:00:00Z")),
        )
        for n in range(20)
    ]

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda body: call_ingest(copy.deepcopy(body), api_key=connector.api_secret), requests))

    assert all(status == 200 for status, _ in answers)
    added = sum(body["results"][0]["messages_added"] for _, body in answers)
    stored = admin.execute(
        "SELECT count(*), count(DISTINCT external_id) FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " WHERE c.tenant_id = %s AND c.external_conversation_id = 'shared'",
        (connector.tenant_id,),
    ).fetchone()
    assert stored == (120, 120) and added == 120
    assert sum(body["results"][0]["status"] == "created" for _, body in answers) == 1
    assert admin.execute("SELECT count(*) FROM contacts WHERE tenant_id = %s", (connector.tenant_id,)).fetchone() == (
        2,
    )


def test_one_conversation_refused_by_the_database_does_not_lose_the_others(connector, admin):
    # A real database-level refusal for one conversation: a trigger that rejects one external id.
    admin.execute(
        "CREATE OR REPLACE FUNCTION reject_poison() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF NEW.external_conversation_id = 'poison' THEN"
        "   RAISE EXCEPTION 'conversation rejected by policy' USING ERRCODE = 'check_violation'; END IF;"
        " RETURN NEW; END $$"
    )
    admin.execute(
        "CREATE TRIGGER reject_poison BEFORE INSERT ON conversations FOR EACH ROW EXECUTE FUNCTION reject_poison()"
    )
    try:
        body = batch(
            connector,
            conversation("good-1", "+15550001111", message("a", "2026-02-01T10:00:00Z")),
            conversation("poison", "+15550002222", message("b", "2026-02-01T10:00:00Z")),
            conversation("good-2", "+15550003333", message("c", "2026-02-01T10:00:00Z")),
        )
        status, answer = call_ingest(body, api_key=connector.api_secret)
    finally:
        admin.execute("DROP TRIGGER reject_poison ON conversations")

    assert status == 200 and answer["processed"] == 3
    assert [r["status"] for r in answer["results"]] == ["created", "error: conversation rejected by policy", "created"]
    assert answer["results"][1]["messages_added"] == 0
    assert admin.execute(
        "SELECT array_agg(external_conversation_id ORDER BY external_conversation_id) FROM conversations WHERE tenant_id = %s",
        (connector.tenant_id,),
    ).fetchone() == (["good-1", "good-2"],)
