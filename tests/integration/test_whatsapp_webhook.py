"""Meta's WhatsApp webhook end to end: the real Lambda handler, API Gateway v2.0 events, a real PostgreSQL."""

from __future__ import annotations

import copy
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from devtools.localenv import LOCAL_META_APP_SECRET, LOCAL_META_VERIFY_TOKEN
from tests.support.database import table_counts
from tests.support.factories import Number
from tests.support.ingest import call_ingest
from tests.support.meta_payloads import (
    APP_SECRET,
    EXAMPLE_BSUID,
    EXAMPLE_PARENT_BSUID,
    VERIFY_TOKEN,
    Answer,
    change,
    contact,
    inbound,
    invoke,
    notification,
    now_seconds,
    post,
    status,
    text_message,
    verify,
    wamid,
)
from tests.support.paths import load_event
from threadline.meta.config import get_meta_settings
from threadline.meta.webhook import signature_for

pytestmark = pytest.mark.usefixtures("meta_secrets")


# ---------------------------------------------------------------------------------------------------------------
# Helpers: numbers and the database's state (Meta-shaped payloads and the handler: tests.support.meta_payloads)
# ---------------------------------------------------------------------------------------------------------------
def fingerprint(admin: psycopg.Connection[Any]) -> tuple[str, ...]:
    """Every row of every table the webhook writes: equal fingerprints mean nothing changed."""
    return tuple(
        admin.execute(f"SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM {table} t").fetchone()[  # type: ignore[index]
            0
        ]
        for table in ("contacts", "conversations", "messages")
    )


def one_row(admin: psycopg.Connection[Any], query: str, *params: Any) -> dict[str, Any]:
    with admin.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(query, params).fetchone()
    assert row is not None, (query, params)
    return row


def stored_message(admin: psycopg.Connection[Any], tenant_id: uuid.UUID, meta_id: str) -> dict[str, Any]:
    return one_row(
        admin,
        "SELECT m.*, c.external_conversation_id, c.connection_id AS conversation_connection, c.contact_id,"
        " c.last_message_at, c.last_message_preview"
        " FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.tenant_id = %s AND m.meta_id = %s",
        tenant_id,
        meta_id,
    )


def contact_row(admin: psycopg.Connection[Any], contact_id: uuid.UUID) -> dict[str, Any]:
    return one_row(admin, "SELECT * FROM contacts WHERE id = %s", contact_id)


def window_expires_at(admin: psycopg.Connection[Any], conversation_id: int) -> datetime:
    """The conversation's reply window (the window belongs to the conversation on its business number)."""
    return one_row(admin, "SELECT window_expires_at FROM conversations WHERE id = %s", conversation_id)[
        "window_expires_at"
    ]


def outbound_message(
    admin: psycopg.Connection[Any],
    number: Number,
    *,
    meta_id: str | None,
    status: str = "sent",
    external_id: str | None = None,
    wa_id: str = "16505551234",
    last_interaction_at: datetime | None = None,
) -> int:
    """A message the send path wrote: its contact and conversation (window open from `last_interaction_at`, the
    customer's last message in it)."""
    contact_id = admin.execute(
        "INSERT INTO contacts (tenant_id, identifier, phone_digits, last_interaction_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, identifier) DO UPDATE SET identifier = EXCLUDED.identifier RETURNING id",
        (number.tenant_id, f"+{wa_id}", wa_id, last_interaction_at or datetime.now(UTC) - timedelta(hours=1)),
    ).fetchone()[0]  # type: ignore[index]
    conversation_id = admin.execute(
        "INSERT INTO conversations (tenant_id, connection_id, platform, external_conversation_id, contact_id,"
        " last_inbound_at) VALUES (%s, %s, 'whatsapp', %s, %s, %s)"
        " ON CONFLICT (tenant_id, platform, external_conversation_id) DO UPDATE SET platform = 'whatsapp'"
        " RETURNING id",
        (
            number.tenant_id,
            number.connection_uuid,
            f"whatsapp:{number.phone_number_id}:{wa_id}",
            contact_id,
            last_interaction_at or datetime.now(UTC) - timedelta(hours=1),
        ),
    ).fetchone()[0]  # type: ignore[index]
    return admin.execute(
        "INSERT INTO messages (tenant_id, conversation_id, external_id, meta_id, direction, type, content, sent_at,"
        " status, source) VALUES (%s, %s, %s, %s, 'outbound', 'text', 'Hello from us', now(), %s, 'api')"
        " RETURNING id",
        (number.tenant_id, conversation_id, external_id or f"msg_{uuid.uuid4().hex}", meta_id, status),
    ).fetchone()[0]  # type: ignore[index]


def message_state(admin: psycopg.Connection[Any], message_id: int) -> dict[str, Any]:
    return one_row(
        admin,
        "SELECT status, status_updated_at, meta_id, error_code, error_title, error_details FROM messages WHERE id = %s",
        message_id,
    )


# ---------------------------------------------------------------------------------------------------------------
# The handshake
# ---------------------------------------------------------------------------------------------------------------
class TestHandshake:
    def test_the_right_token_gets_the_challenge_back_as_plain_text(self):
        answer = verify({"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN})

        assert answer.status == 200
        assert answer.body == "1158201444"
        assert answer.content_type == "text/plain"

    def test_a_wrong_token_is_refused(self):
        answer = verify({"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "guess"})

        assert (answer.status, answer.body) == (403, {"error": "Verification failed"})

    def test_a_mode_other_than_subscribe_is_refused(self):
        answer = verify({"hub.mode": "unsubscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN})

        assert (answer.status, answer.body) == (403, {"error": "Verification failed"})

    def test_no_parameters_at_all_is_refused(self):
        assert verify({}).status == 403

    def test_without_a_configured_verify_token_nothing_verifies(self, monkeypatch):
        monkeypatch.delenv("META_VERIFY_TOKEN")
        get_meta_settings.cache_clear()

        answer = verify({"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": ""})

        assert answer.status == 403

    def test_the_sample_event_verifies_with_the_local_token(self, monkeypatch):
        monkeypatch.setenv("META_VERIFY_TOKEN", LOCAL_META_VERIFY_TOKEN)
        get_meta_settings.cache_clear()

        answer = invoke(load_event("whatsapp-webhook-verify.json"))

        assert (answer.status, answer.body) == (200, "1158201444")


# ---------------------------------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------------------------------
class TestSignature:
    def payload(self, number: Number) -> dict[str, Any]:
        return notification(
            change(number.phone_number_id, contacts=[contact()], messages=[text_message(wamid(), "Hi")])
        )

    def test_a_missing_signature_is_401_and_writes_nothing(self, number, admin):
        before = fingerprint(admin)

        answer = post(self.payload(number), secret=None)

        assert (answer.status, answer.body) == (401, {"error": "Missing X-Hub-Signature-256 header"})
        assert fingerprint(admin) == before

    def test_a_signature_made_with_another_secret_is_401_and_writes_nothing(self, number, admin):
        before = fingerprint(admin)

        answer = post(self.payload(number), secret="not-the-app-secret")

        assert (answer.status, answer.body) == (401, {"error": "Invalid signature"})
        assert fingerprint(admin) == before

    def test_a_tampered_body_is_401(self, number, admin):
        original = json.dumps(self.payload(number))
        tampered = original.replace('"Hi"', '"Hi, please refund me"')
        before = fingerprint(admin)

        answer = post(tampered, signature=signature_for(original.encode(), APP_SECRET))

        assert answer.status == 401
        assert fingerprint(admin) == before

    def test_a_malformed_signature_header_is_401(self, number):
        assert post(self.payload(number), signature="sha1=abc").status == 401
        assert post(self.payload(number), signature="sha256=\u00e9").status == 401

    def test_the_right_signature_is_accepted(self, number, admin):
        answer = post(self.payload(number))

        assert (answer.status, answer.body) == (200, {"success": True})
        assert table_counts(admin)["messages"] > 0

    def test_a_base64_encoded_body_is_checked_on_its_decoded_bytes(self, number, admin):
        payload = self.payload(number)
        payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "Olá, ça va? 👋"
        message_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]

        answer = post(json.dumps(payload, ensure_ascii=False).encode(), base64_encoded=True)

        assert answer.status == 200
        assert stored_message(admin, number.tenant_id, message_id)["content"] == "Olá, ça va? 👋"

    @pytest.mark.parametrize("kind", ["long text", "padding", "status padding", "unsigned", "base64"])
    def test_a_body_over_lambdas_6_mb_is_413_before_any_work(self, number, admin, kind):
        """In AWS, Lambda's 6 MB request payload limit refuses these before the function runs; locally (and should
        that limit ever move) the function refuses them itself, signed or not, before the signature or the JSON."""
        huge = "x" * 7_000_000
        payload = self.payload(number)
        if kind == "long text":
            payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = huge
            body = json.dumps(payload)
        elif kind == "status padding":
            body = json.dumps(notification(change(number.phone_number_id, statuses=[status(wamid(), "read")])))
            body += " " * 7_000_000
        else:
            body = json.dumps(payload) + " " * 7_000_000
        before = fingerprint(admin)

        answer = post(body, secret=None if kind == "unsigned" else APP_SECRET, base64_encoded=kind == "base64")

        assert (answer.status, answer.body) == (
            413,
            {"error": "Request body too large: at most 6000000 bytes (Lambda's request payload limit)"},
        )
        assert fingerprint(admin) == before

    def test_a_body_of_exactly_6_mb_is_still_verified_and_stored(self, number, admin):
        payload = json.dumps(self.payload(number))
        body = payload + " " * (6_000_000 - len(payload.encode()))
        assert post(body, signature="sha256=" + "0" * 64).status == 401  # the signature still decides
        answer = post(body)
        assert (answer.status, answer.body) == (200, {"success": True})
        assert table_counts(admin)["messages"] > 0

    def test_without_a_configured_app_secret_nothing_is_trusted(self, number, admin, monkeypatch):
        monkeypatch.delenv("META_APP_SECRET")
        get_meta_settings.cache_clear()
        before = fingerprint(admin)

        answer = post(self.payload(number))

        assert (answer.status, answer.body) == (500, {"error": "Internal server error"})
        assert fingerprint(admin) == before

    def test_the_sample_events_are_signed_with_the_local_app_secret(self, make_number, admin, monkeypatch):
        monkeypatch.setenv("META_APP_SECRET", LOCAL_META_APP_SECRET)
        get_meta_settings.cache_clear()
        sample = make_number(phone_number_id="106540352242922")

        assert invoke(load_event("whatsapp-webhook-message.json")).status == 200
        assert invoke(load_event("whatsapp-webhook-status.json")).status == 200
        row = stored_message(admin, sample.tenant_id, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
        assert row["content"] == "Does it come in another color?"


# ---------------------------------------------------------------------------------------------------------------
# Nothing refused, nothing lost: what cannot be placed is kept, raw, with the reason
# ---------------------------------------------------------------------------------------------------------------
def dead_letters(admin: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    with admin.cursor(row_factory=dict_row) as cursor:
        return cursor.execute("SELECT * FROM whatsapp_dead_letters ORDER BY id").fetchall()


@pytest.fixture
def no_dead_letters(admin):
    """The session's database keeps what earlier tests' notifications left; a test that counts starts from none."""
    admin.execute("DELETE FROM whatsapp_dead_letters")


@pytest.mark.usefixtures("no_dead_letters")
class TestWhatCannotBePlacedIsKept:
    @pytest.fixture
    def before(self, number, admin):
        # Something a bad delivery could have touched if it were half-applied.
        self.sent_id = outbound_message(admin, number, meta_id="wamid.sent-before")
        return fingerprint(admin)

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            ("{not json", "Request body must be valid JSON"),
            ("", "Request body must be valid JSON"),
            (b"\xff\xfe not utf-8", "Request body must be valid JSON"),
            ("[1, 2]", "Request body must be a JSON object"),
            ('{"entry": []}', "object: is required"),
            ('{"object": "whatsapp_business_account", "entry": {}}', "entry: must be an array"),
        ],
    )
    def test_a_verified_body_that_is_not_a_notification_is_acknowledged_and_kept_whole(
        self, before, admin, body, reason
    ):
        answer = post(body)

        assert (answer.status, answer.body) == (200, {"success": True})
        assert fingerprint(admin) == before
        [letter] = dead_letters(admin)
        raw = body if isinstance(body, bytes) else body.encode()
        assert (letter["reason"], bytes(letter["raw"]), letter["tenant_id"], letter["phone_number_id"]) == (
            reason,
            raw,
            None,
            None,
        )

    def test_an_unverified_body_is_still_refused_and_nothing_is_kept(self, before, admin):
        assert post("{not json", secret="another-secret").status == 401
        assert dead_letters(admin) == []

    def test_a_malformed_change_is_kept_for_its_tenant_and_the_others_are_stored(self, number, before, admin):
        body = notification(
            change(number.phone_number_id, statuses=[status("wamid.sent-before", "read")]),
            {"field": "messages", "value": {"metadata": {}, "messages": []}},
        )

        answer = post(body)

        assert (answer.status, answer.body) == (200, {"success": True})
        assert message_state(admin, self.sent_id)["status"] == "read"
        [letter] = dead_letters(admin)
        assert letter["reason"] == "value.metadata.phone_number_id: is required"
        assert letter["tenant_id"] is None
        kept = json.loads(bytes(letter["raw"]))
        assert kept["entry"][0]["changes"] == [{"field": "messages", "value": {"metadata": {}, "messages": []}}]

    @pytest.mark.parametrize(
        ("message", "reason"),
        [
            (
                {"id": "wamid.x", "timestamp": "soon", "type": "text", "from": "1"},
                "messages[0].timestamp: must be a Unix timestamp in seconds",
            ),
            (
                {"timestamp": "1769941800", "type": "text", "from": "1"},
                "messages[0].id: is required",
            ),
            (
                {"id": "", "timestamp": "1769941800", "type": "text", "from": "1"},
                "messages[0].id: must not be empty",
            ),
            (
                {"id": "wamid.x", "timestamp": "1769941800", "type": "text", "text": {"body": "Who am I?"}},
                "messages[0]: no sender (no from, no from_user_id, and not exactly one contact)",
            ),
            (
                {"id": "wamid.x", "timestamp": "1769941800", "type": "text", "from": "1", "group_id": "G1"},
                "messages[0]: a group message (Threadline's conversations are 1:1)",
            ),
        ],
    )
    def test_a_message_threadline_cannot_place_is_kept_for_the_number_s_tenant(
        self, number, before, admin, message, reason
    ):
        good = wamid()
        contacts = [contact(wa_id="16505551234"), contact("Bob", wa_id="16505550000")]
        body = notification(
            change(number.phone_number_id, contacts=contacts, messages=[message, text_message(good, "Placed")])
        )

        answer = post(body)

        assert (answer.status, answer.body) == (200, {"success": True})
        assert stored_message(admin, number.tenant_id, good)["content"] == "Placed"
        [letter] = dead_letters(admin)
        assert (letter["reason"], letter["tenant_id"], letter["phone_number_id"]) == (
            reason,
            number.tenant_id,
            number.phone_number_id,
        )
        assert json.loads(bytes(letter["raw"]))["entry"][0]["changes"][0]["value"]["messages"][0] == message

    def test_a_status_without_a_timestamp_is_kept(self, number, before, admin):
        update = status("wamid.sent-before", "read")
        del update["timestamp"]

        answer = post(notification(change(number.phone_number_id, statuses=[update])))

        assert answer.status == 200
        assert fingerprint(admin) == before
        assert [letter["reason"] for letter in dead_letters(admin)] == ["statuses[0].timestamp: is required"]

    def test_an_unknown_phone_number_id_is_kept_without_a_tenant(self, before, admin):
        body = notification(change("999000111222333", contacts=[contact()], messages=[text_message(wamid(), "Hi")]))

        answer = post(body)

        assert (answer.status, answer.body) == (200, {"success": True})
        assert fingerprint(admin) == before
        [letter] = dead_letters(admin)
        assert letter["reason"] == "phone_number_id 999000111222333 has no WhatsApp connection"
        assert (letter["tenant_id"], letter["phone_number_id"]) == (None, "999000111222333")

    def test_a_deactivated_connection_s_notification_is_kept_for_its_tenant(self, number, before, admin):
        admin.execute("UPDATE connections SET is_active = false WHERE id = %s", (number.connection_uuid,))
        body = notification(
            change(
                number.phone_number_id,
                contacts=[contact()],
                messages=[text_message(wamid(), "Hi")],
                statuses=[status("wamid.sent-before", "read")],
            )
        )

        assert post(body).status == 200
        assert fingerprint(admin) == before
        [letter] = dead_letters(admin)
        assert letter["tenant_id"] == number.tenant_id
        assert letter["reason"] == f"the WhatsApp connection of phone_number_id {number.phone_number_id} is deactivated"

    def test_other_objects_and_other_fields_are_acknowledged_and_kept(self, number, before, admin):
        page = {"object": "page", "entry": [{"id": "1", "messaging": []}]}
        account_update = notification({"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}})
        # A template's review is one Threadline handles (docs/templates-api.md): applied, never a dead letter.
        template_review = notification(
            {"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_id": 1}}
        )

        assert post(page).status == 200
        assert post(account_update).status == 200
        assert post(template_review).status == 200
        assert fingerprint(admin) == before
        assert [letter["reason"] for letter in dead_letters(admin)] == [
            "object 'page' is not a WhatsApp notification",
            "field 'account_update' is not one Threadline handles",
        ]

    def test_meta_re_sending_what_was_kept_keeps_it_once(self, before, admin):
        body = notification(change("999000111222333", messages=[text_message(wamid(), "Hi")]))

        assert post(body).status == 200
        assert post(body).status == 200

        assert len(dead_letters(admin)) == 1

    def test_dead_letters_are_isolated_by_tenant(self, make_number, admin):
        from tests.integration.test_tenant_isolation import _app_connection

        ours, theirs = make_number(), make_number()
        for number in (ours, theirs):
            post(notification(change(number.phone_number_id, messages=[{"id": wamid(), "type": "text"}])))
        post("{not json")
        assert len(dead_letters(admin)) == 3

        with _app_connection() as conn:
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(ours.tenant_id),))
            visible = conn.execute("SELECT tenant_id FROM whatsapp_dead_letters").fetchall()
        assert visible == [(ours.tenant_id,)]


# ---------------------------------------------------------------------------------------------------------------
# Inbound messages
# ---------------------------------------------------------------------------------------------------------------
class TestInboundMessages:
    def test_a_text_message_creates_the_contact_and_conversation_and_opens_the_window(self, number, admin):
        sent_at = now_seconds(-600)
        message_id = wamid()
        body = notification(
            change(
                number.phone_number_id,
                contacts=[contact("Sheena Nelson", user_id="US.13491208655302741918")],
                messages=[text_message(message_id, "Does it come in another color?", at=sent_at)],
            )
        )

        assert post(body).status == 200

        row = stored_message(admin, number.tenant_id, message_id)
        assert row["external_id"] == message_id and row["meta_id"] == message_id
        assert (row["direction"], row["type"], row["status"], row["source"]) == (
            "inbound",
            "text",
            "received",
            "whatsapp_webhook",
        )
        assert row["content"] == "Does it come in another color?"
        assert row["media_url"] is None
        assert row["sent_at"] == datetime.fromtimestamp(sent_at, UTC)
        assert row["external_conversation_id"] == f"whatsapp:{number.phone_number_id}:16505551234"
        assert row["conversation_connection"] == number.connection_uuid
        assert row["last_message_preview"] == "Does it come in another color?"
        person = contact_row(admin, row["contact_id"])
        assert (person["name"], person["identifier"], person["phone_digits"]) == (
            "Sheena Nelson",
            "+16505551234",
            "16505551234",
        )
        assert person["whatsapp_user_id"] == "US.13491208655302741918"
        assert person["last_interaction_at"] == datetime.fromtimestamp(sent_at, UTC)
        assert window_expires_at(admin, row["conversation_id"]) == datetime.fromtimestamp(sent_at, UTC) + timedelta(
            hours=24
        )

    def test_meta_resending_the_same_delivery_stores_the_message_once(self, number, admin):
        body = notification(
            change(number.phone_number_id, contacts=[contact()], messages=[text_message(wamid(), "Once")])
        )
        assert post(body).status == 200
        after_first = table_counts(admin)
        first = fingerprint(admin)

        assert post(body).status == 200

        assert table_counts(admin) == after_first
        messages = admin.execute("SELECT count(*) FROM messages WHERE tenant_id = %s", (number.tenant_id,)).fetchone()
        assert messages == (1,)
        # Contacts and messages untouched; only the conversation's updated_at may move.
        assert fingerprint(admin)[0] == first[0] and fingerprint(admin)[2] == first[2]

    def test_the_same_delivery_twice_at_once_stores_one_message_one_contact_one_conversation(self, number, admin):
        body = notification(
            change(
                number.phone_number_id,
                contacts=[contact("Ana", wa_id="5511987654321")],
                messages=[text_message(wamid(), "Olá", sender="5511987654321")],
            )
        )

        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda _: post(copy.deepcopy(body)), range(4)))

        assert [answer.status for answer in answers] == [200] * 4
        counts = admin.execute(
            "SELECT (SELECT count(*) FROM messages WHERE tenant_id = %(t)s),"
            " (SELECT count(*) FROM contacts WHERE tenant_id = %(t)s),"
            " (SELECT count(*) FROM conversations WHERE tenant_id = %(t)s)",
            {"t": number.tenant_id},
        ).fetchone()
        assert counts == (1, 1, 1)

    def test_an_existing_contact_is_matched_by_the_last_ten_digits_and_its_conversation_is_joined(self, number, admin):
        # A connector pushed this customer earlier through ingest, with a local-format number.
        status_code, _ = call_ingest(
            {
                "platform": "whatsapp",
                "connection_id": number.connection_id,
                "conversations": [
                    {
                        "external_conversation_id": "chat_from_connector",
                        "participant_identifier": "07700 900123",
                        "participant_name": "Oliver",
                        "messages": [
                            {
                                "id": "m1",
                                "direction": "inbound",
                                "type": "text",
                                "content": "Hello",
                                "sent_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
                            }
                        ],
                    }
                ],
            },
            api_key=number.api_secret,
        )
        assert status_code == 200
        message_id = wamid()
        body = notification(
            change(
                number.phone_number_id,
                contacts=[contact("Oliver Twist", wa_id="447700900123", user_id="GB.5550001")],
                messages=[text_message(message_id, "Any news?", sender="447700900123")],
            )
        )

        assert post(body).status == 200

        row = stored_message(admin, number.tenant_id, message_id)
        assert row["external_conversation_id"] == "chat_from_connector"
        assert admin.execute("SELECT count(*) FROM contacts WHERE tenant_id = %s", (number.tenant_id,)).fetchone() == (
            1,
        )
        person = contact_row(admin, row["contact_id"])
        # The connector's contact keeps its identity and name, and learns Meta's business-scoped user id.
        assert (person["identifier"], person["name"], person["whatsapp_user_id"]) == (
            "07700900123",
            "Oliver",
            "GB.5550001",
        )
        assert window_expires_at(admin, row["conversation_id"]) > datetime.now(UTC)  # the window is open

    def test_a_username_user_without_a_phone_number_is_keyed_on_the_business_scoped_user_id(self, number, admin):
        bsuid = "BR.1502576394655843"
        first, second = wamid(), wamid()
        body = notification(
            change(
                number.phone_number_id,
                contacts=[contact("Maria", wa_id=None, user_id=bsuid, username="@maria.lopez")],
                messages=[text_message(first, "Oi", sender=None, user_id=bsuid, at=now_seconds(-60))],
            )
        )
        assert post(body).status == 200
        later = notification(
            change(
                number.phone_number_id,
                contacts=[contact(None, wa_id=None, user_id=bsuid, username="@maria.lopez")],
                messages=[text_message(second, "Tudo bem?", sender=None, user_id=bsuid)],
            )
        )

        assert post(later).status == 200

        one, two = stored_message(admin, number.tenant_id, first), stored_message(admin, number.tenant_id, second)
        assert one["conversation_id"] == two["conversation_id"]
        assert one["external_conversation_id"] == f"whatsapp:{number.phone_number_id}:{bsuid}"
        person = contact_row(admin, one["contact_id"])
        assert (person["whatsapp_user_id"], person["phone_digits"], person["name"]) == (bsuid, None, "Maria")
        assert person["identifier"] == bsuid.casefold()
        assert window_expires_at(admin, one["conversation_id"]) > datetime.now(UTC)  # the window is open

    def test_a_known_customer_who_hides_their_number_stays_in_their_conversation(self, number, admin):
        bsuid = "US.13491208655302741918"
        before_username = wamid()
        post(
            notification(
                change(
                    number.phone_number_id,
                    contacts=[contact("Sheena", user_id=bsuid)],
                    messages=[text_message(before_username, "Hi", user_id=bsuid, at=now_seconds(-3600))],
                )
            )
        )
        after_username = wamid()

        answer = post(
            notification(
                change(
                    number.phone_number_id,
                    contacts=[contact(None, wa_id=None, user_id=bsuid, username="@sheena")],
                    messages=[text_message(after_username, "Me again", sender=None, user_id=bsuid)],
                )
            )
        )

        assert answer.status == 200
        one = stored_message(admin, number.tenant_id, before_username)
        two = stored_message(admin, number.tenant_id, after_username)
        assert (one["contact_id"], one["conversation_id"]) == (two["contact_id"], two["conversation_id"])
        assert two["last_message_preview"] == "Me again"

    def test_media_and_other_types_map_to_threadline_types(self, number, admin):
        ids = {name: wamid() for name in ("image", "document", "sticker", "voice", "location", "button")}
        at = str(now_seconds(-30))
        base = {"from": "16505551234", "timestamp": at}
        messages = [
            base
            | {
                "id": ids["image"],
                "type": "image",
                "image": {"id": "1479537139650973", "mime_type": "image/jpeg", "sha256": "abc", "caption": "Blue?"},
            },
            base
            | {
                "id": ids["document"],
                "type": "document",
                "document": {"id": "2", "mime_type": "application/pdf", "filename": "invoice.pdf"},
            },
            base | {"id": ids["sticker"], "type": "sticker", "sticker": {"id": "3", "mime_type": "image/webp"}},
            base | {"id": ids["voice"], "type": "audio", "audio": {"id": "4", "mime_type": "audio/ogg", "voice": True}},
            base
            | {
                "id": ids["location"],
                "type": "location",
                "location": {"latitude": 38.9, "longitude": -77.0, "name": "Philz Coffee"},
            },
            base
            | {
                "id": ids["button"],
                "type": "button",
                "button": {"payload": "STOP", "text": "Stop promotions"},
                "context": {"from": "15550783881", "id": "wamid.template"},
            },
        ]

        assert post(notification(change(number.phone_number_id, contacts=[contact()], messages=messages))).status == 200

        def summary(name: str) -> tuple[Any, ...]:
            row = stored_message(admin, number.tenant_id, ids[name])
            return row["type"], row["content"], row["media_mime_type"], row["media_filename"], row["media_url"]

        assert summary("image") == ("image", "Blue?", "image/jpeg", None, None)
        assert summary("document") == ("file", "invoice.pdf", "application/pdf", "invoice.pdf", None)
        assert summary("sticker") == ("image", "Sticker", "image/webp", None, None)
        assert summary("voice") == ("audio", "Voice message", "audio/ogg", None, None)
        assert summary("location") == ("location", "Location: Philz Coffee", None, None, None)
        assert summary("button") == ("text", "Stop promotions", None, None, None)
        image = stored_message(admin, number.tenant_id, ids["image"])
        assert image["payload"]["media_id"] == "1479537139650973"
        assert image["payload"]["image"]["sha256"] == "abc"
        assert stored_message(admin, number.tenant_id, ids["button"])["reply_to_external_id"] == "wamid.template"
        conversations = admin.execute(
            "SELECT count(*) FROM conversations WHERE tenant_id = %s", (number.tenant_id,)
        ).fetchone()
        assert conversations == (1,)

    def test_an_older_delivery_arriving_late_never_moves_the_window_or_preview_back(self, number, admin):
        newer, older = wamid(), wamid()
        post(
            notification(
                change(
                    number.phone_number_id,
                    contacts=[contact()],
                    messages=[text_message(newer, "Newer", at=now_seconds(-60))],
                )
            )
        )

        post(
            notification(
                change(
                    number.phone_number_id,
                    contacts=[contact()],
                    messages=[text_message(older, "Older", at=now_seconds(-7200))],
                )
            )
        )

        row = stored_message(admin, number.tenant_id, older)
        assert row["last_message_preview"] == "Newer"
        person = contact_row(admin, row["contact_id"])
        assert person["last_interaction_at"] == stored_message(admin, number.tenant_id, newer)["sent_at"]

    def test_a_nul_character_from_meta_is_dropped_rather_than_refusing_the_delivery(self, number, admin):
        message_id = wamid()

        answer = post(
            notification(
                change(number.phone_number_id, contacts=[contact()], messages=[text_message(message_id, "a\u0000b")])
            )
        )

        assert answer.status == 200
        assert stored_message(admin, number.tenant_id, message_id)["content"] == "ab"


# ---------------------------------------------------------------------------------------------------------------
# Username-only customers: business-scoped user ids (BSUIDs)
# ---------------------------------------------------------------------------------------------------------------
class TestUsernameOnlyCustomers:
    def stored_contact(self, admin: psycopg.Connection[Any], number: Number, meta_id: str) -> dict[str, Any]:
        return contact_row(admin, stored_message(admin, number.tenant_id, meta_id)["contact_id"])

    def test_a_message_naming_no_sender_is_the_one_contact_s_and_keeps_the_parent_bsuid(self, number, admin):
        message_id = wamid()
        meta_contact = contact(
            "Sheena Nelson", wa_id=None, user_id=EXAMPLE_BSUID, parent_user_id=EXAMPLE_PARENT_BSUID, username="@sheena"
        )
        body = notification(
            change(
                number.phone_number_id,
                contacts=[meta_contact],
                messages=[inbound(message_id, "text", {"body": "Hello from a username"}, sender=None)],
            )
        )

        assert post(body).status == 200

        person = self.stored_contact(admin, number, message_id)
        assert (person["whatsapp_user_id"], person["whatsapp_parent_user_id"], person["phone_digits"]) == (
            EXAMPLE_BSUID,
            EXAMPLE_PARENT_BSUID,
            None,
        )
        row = stored_message(admin, number.tenant_id, message_id)
        assert row["external_conversation_id"] == f"whatsapp:{number.phone_number_id}:{EXAMPLE_BSUID}"

    def test_a_contact_known_by_phone_learns_its_bsuid_from_a_status_and_is_then_found_by_it(self, number, admin):
        sent = outbound_message(admin, number, meta_id="wamid.to-phone", wa_id="16505550199")
        bsuid = f"US.{uuid.uuid4().int % 10**20}"
        # A status of a message sent to a phone number: Meta names the recipient's BSUID too.
        update = status("wamid.to-phone", "delivered", recipient_user_id=bsuid, parent_recipient_user_id="US.ENT.77")
        update.pop("recipient_id")

        assert post(notification(change(number.phone_number_id, statuses=[update]))).status == 200

        conversation_id = admin.execute("SELECT conversation_id FROM messages WHERE id = %s", (sent,)).fetchone()[0]  # type: ignore[index]
        person = one_row(
            admin, "SELECT c.* FROM contacts c JOIN conversations v ON v.contact_id = c.id WHERE v.id = %s",
            conversation_id,
        )  # fmt: skip
        assert (person["whatsapp_user_id"], person["whatsapp_parent_user_id"]) == (bsuid, "US.ENT.77")
        # Later the customer writes with the BSUID only (they hid their number): same contact, same conversation.
        reply = wamid()
        body = notification(
            change(
                number.phone_number_id,
                contacts=[contact("Jo", wa_id=None, user_id=bsuid)],
                messages=[inbound(reply, "text", {"body": "Got it"}, sender=None, user_id=bsuid)],
            )
        )
        assert post(body).status == 200
        assert stored_message(admin, number.tenant_id, reply)["conversation_id"] == conversation_id

    def test_the_other_spelling_of_the_recipient_s_parent_bsuid_is_read_too(self, number, admin):
        sent = outbound_message(admin, number, meta_id="wamid.spelling", wa_id="16505550188")
        update = status("wamid.spelling", "read", recipient_parent_user_id="US.ENT.88")

        assert post(notification(change(number.phone_number_id, statuses=[update]))).status == 200

        person = one_row(
            admin,
            "SELECT c.* FROM contacts c JOIN conversations v ON v.contact_id = c.id"
            " JOIN messages m ON m.conversation_id = v.id WHERE m.id = %s",
            sent,
        )
        assert person["whatsapp_parent_user_id"] == "US.ENT.88"
        assert message_state(admin, sent)["status"] == "read"

    def test_a_changed_bsuid_re_keys_the_contact_and_its_next_messages_join_its_conversation(self, number, admin):
        old, new = f"US.{uuid.uuid4().int % 10**20}", f"US.{uuid.uuid4().int % 10**20}"
        first = wamid()
        post(
            notification(
                change(
                    number.phone_number_id,
                    contacts=[contact("Kai", wa_id=None, user_id=old)],
                    messages=[inbound(first, "text", {"body": "Hi"}, sender=None, user_id=old)],
                )
            )
        )
        notice, after = wamid(), wamid()
        system = {"body": "User Kai changed their user id", "type": "user_changed_user_id", "previous_user_id": old}

        body = notification(
            change(
                number.phone_number_id,
                # System messages name no contact: the notice is the sender's under the new BSUID.
                messages=[
                    inbound(notice, "system", system, sender=None, user_id=new, at=now_seconds(-5)),
                    inbound(after, "text", {"body": "Still me"}, sender=None, user_id=new),
                ],
            )
        )
        assert post(body).status == 200

        person = self.stored_contact(admin, number, first)
        assert person["whatsapp_user_id"] == new
        rows = [stored_message(admin, number.tenant_id, meta_id) for meta_id in (first, notice, after)]
        assert {row["conversation_id"] for row in rows} == {rows[0]["conversation_id"]}
        assert rows[1]["is_system"] is True
        assert admin.execute(
            "SELECT count(*) FROM contacts WHERE tenant_id = %s AND whatsapp_user_id IN (%s, %s)",
            (number.tenant_id, old, new),
        ).fetchone() == (1,)

    @pytest.mark.usefixtures("fake_graph")
    def test_a_reply_to_a_customer_without_a_phone_number_goes_to_their_bsuid(self, number, admin, fake_graph):
        from tests.support.send import call_send

        bsuid, message_id = f"US.{uuid.uuid4().int % 10**20}", wamid()
        post(
            notification(
                change(
                    number.phone_number_id,
                    contacts=[contact("Noor", wa_id=None, user_id=bsuid)],
                    messages=[inbound(message_id, "text", {"body": "Can you help?"}, sender=None, user_id=bsuid)],
                )
            )
        )
        conversation_id = stored_message(admin, number.tenant_id, message_id)["conversation_id"]

        status_code, body = call_send(
            {"content": "Of course"},
            tenant_id=number.tenant_id,
            event_file="conversation-send-v1.json",
            conversation_id=conversation_id,
        )

        assert status_code == 201, body
        (request,) = fake_graph.send_requests
        assert request.json["recipient"] == bsuid and "to" not in request.json
        assert body["message"]["status"] == "sent"


# ---------------------------------------------------------------------------------------------------------------
# Statuses
# ---------------------------------------------------------------------------------------------------------------
class TestStatuses:
    def deliver(self, number: Number, *updates: dict[str, Any]) -> Answer:
        return post(notification(change(number.phone_number_id, statuses=list(updates))))

    def test_sent_then_read_then_a_late_delivered_stays_read(self, number, admin):
        message_id = outbound_message(admin, number, meta_id="wamid.out-1")
        t = now_seconds(-100)

        assert self.deliver(number, status("wamid.out-1", "sent", at=t)).status == 200
        assert message_state(admin, message_id)["status"] == "sent"
        self.deliver(number, status("wamid.out-1", "read", at=t + 20))
        self.deliver(number, status("wamid.out-1", "delivered", at=t + 10))

        state = message_state(admin, message_id)
        assert state["status"] == "read"
        assert state["status_updated_at"] == datetime.fromtimestamp(t + 20, UTC)

    def test_out_of_order_statuses_in_one_delivery_keep_the_most_advanced(self, number, admin):
        message_id = outbound_message(admin, number, meta_id="wamid.out-2")
        t = now_seconds(-100)

        self.deliver(
            number,
            status("wamid.out-2", "read", at=t + 20),
            status("wamid.out-2", "delivered", at=t + 10),
            status("wamid.out-2", "sent", at=t),
        )

        assert message_state(admin, message_id)["status"] == "read"

    def test_failed_stores_meta_code_title_and_details(self, number, admin):
        message_id = outbound_message(admin, number, meta_id="wamid.out-3")
        error = {
            "code": 131026,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "Message Undeliverable."},
        }

        self.deliver(number, status("wamid.out-3", "failed", errors=[error]))

        state = message_state(admin, message_id)
        assert (state["status"], state["error_code"], state["error_title"], state["error_details"]) == (
            "failed",
            131026,
            "Message undeliverable",
            "Message Undeliverable.",
        )

    def test_failed_because_the_window_closed_marks_the_conversation_window_expired(self, number, admin):
        message_id = outbound_message(
            admin, number, meta_id="wamid.out-4", last_interaction_at=datetime.now(UTC) - timedelta(hours=23)
        )
        error = {"code": 131047, "title": "Re-engagement message", "error_data": {"details": "More than 24 hours"}}

        self.deliver(number, status("wamid.out-4", "failed", errors=[error]))

        assert message_state(admin, message_id)["error_code"] == 131047
        window = admin.execute(
            "SELECT c.window_expires_at <= now() FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id WHERE m.id = %s",
            (message_id,),
        ).fetchone()
        assert window == (True,)

    def test_a_window_refusal_older_than_the_customer_s_last_message_leaves_the_window_open(self, number, admin):
        message_id = outbound_message(
            admin, number, meta_id="wamid.out-5", last_interaction_at=datetime.now(UTC) - timedelta(minutes=1)
        )
        error = {"code": 131047, "title": "Re-engagement message"}

        self.deliver(number, status("wamid.out-5", "failed", at=now_seconds(-600), errors=[error]))

        assert message_state(admin, message_id)["status"] == "failed"
        window = admin.execute(
            "SELECT c.window_expires_at > now() FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.id = %s",
            (message_id,),
        ).fetchone()
        assert window == (True,)

    def test_a_status_completes_a_pending_row_through_biz_opaque_callback_data(self, number, admin):
        # The send path's own update failed after Meta accepted: the row is pending, without a wamid.
        message_id = outbound_message(admin, number, meta_id=None, status="pending", external_id="msg_ours_1")

        self.deliver(number, status("wamid.accepted-1", "sent", callback="msg_ours_1"))

        state = message_state(admin, message_id)
        assert (state["status"], state["meta_id"]) == ("sent", "wamid.accepted-1")
        self.deliver(number, status("wamid.accepted-1", "delivered", callback="msg_ours_1"))
        assert message_state(admin, message_id)["status"] == "delivered"

    def test_callback_data_never_rewrites_a_row_that_already_has_its_wamid(self, number, admin):
        message_id = outbound_message(admin, number, meta_id="wamid.own", status="sent", external_id="msg_ours_2")

        self.deliver(number, status("wamid.bsuid-scoped", "read", callback="msg_ours_2"))

        assert message_state(admin, message_id)["meta_id"] == "wamid.own"

    def test_a_second_wamid_named_with_our_callback_data_finds_the_message_and_is_kept_as_its_alias(
        self, number, admin
    ):
        # Meta may know one message by a phone-scoped and a BSUID-scoped wamid; our callback data ties them.
        message_id = outbound_message(
            admin, number, meta_id="wamid.phone-scoped", status="sent", external_id="tl_ours_3"
        )

        self.deliver(number, status("wamid.user-scoped", "delivered", callback="tl_ours_3"))
        # Later statuses name only the second wamid.
        self.deliver(number, status("wamid.user-scoped", "read"))

        state = message_state(admin, message_id)
        assert (state["status"], state["meta_id"]) == ("read", "wamid.phone-scoped")
        aliases = admin.execute(
            "SELECT meta_id, message_id FROM whatsapp_message_aliases WHERE tenant_id = %s", (number.tenant_id,)
        ).fetchall()
        assert aliases == [("wamid.user-scoped", message_id)]

    def test_statuses_for_messages_threadline_does_not_know_change_nothing(self, number, admin):
        outbound_message(admin, number, meta_id="wamid.known")
        before = fingerprint(admin)

        answer = self.deliver(number, status("wamid.unknown", "read"), status("wamid.known", "played"))

        assert answer.status == 200
        assert fingerprint(admin) == before

    def test_another_tenant_s_wamid_is_never_touched(self, make_number, admin):
        ours, theirs = make_number(), make_number()
        our_message = outbound_message(admin, ours, meta_id="wamid.shared-id")
        their_message = outbound_message(admin, theirs, meta_id="wamid.shared-id")
        their_inbound = wamid()
        post(
            notification(
                change(theirs.phone_number_id, contacts=[contact()], messages=[text_message(their_inbound, "Theirs")])
            )
        )
        their_before = admin.execute(
            "SELECT m::text FROM messages m WHERE tenant_id = %s ORDER BY id", (theirs.tenant_id,)
        ).fetchall()

        self.deliver(ours, status("wamid.shared-id", "read"), status(their_inbound, "read"))
        post(
            notification(
                change(ours.phone_number_id, contacts=[contact()], messages=[text_message(their_inbound, "Replay")])
            )
        )

        assert message_state(admin, our_message)["status"] == "read"
        assert message_state(admin, their_message)["status"] == "sent"
        assert (
            admin.execute(
                "SELECT m::text FROM messages m WHERE tenant_id = %s ORDER BY id", (theirs.tenant_id,)
            ).fetchall()
            == their_before
        )
        # The same wamid arriving on our number is our message: stored for us, theirs untouched.
        assert stored_message(admin, ours.tenant_id, their_inbound)["content"] == "Replay"

    def test_messages_and_statuses_for_two_tenants_in_one_delivery_each_land_with_their_tenant(
        self, make_number, admin
    ):
        first, second = make_number(), make_number()
        first_out = outbound_message(admin, first, meta_id="wamid.first-out")
        one, two = wamid(), wamid()
        body = notification(
            change(first.phone_number_id, statuses=[status("wamid.first-out", "delivered")]),
            change(second.phone_number_id, contacts=[contact()], messages=[text_message(two, "Second")]),
            change(first.phone_number_id, contacts=[contact()], messages=[text_message(one, "First")]),
        )

        assert post(body).status == 200

        assert message_state(admin, first_out)["status"] == "delivered"
        assert stored_message(admin, first.tenant_id, one)["content"] == "First"
        assert stored_message(admin, second.tenant_id, two)["content"] == "Second"
        assert admin.execute("SELECT count(*) FROM messages WHERE meta_id IN (%s, %s)", (one, two)).fetchone() == (2,)
