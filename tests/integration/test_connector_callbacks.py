"""Connector channels two-way (issue 11 §3): an agent's reply into a Signal, Telegram or WeChat conversation is
delivered to the connection's outbound_url as a signed `message.outbound` delivery, its status comes back through
POST /v1/ingest/statuses, and the connector's next sync of that same message adds nothing.

Through the routes (tests/support/routes.py) and the dispatcher's own code, to a fake connector: an independent local HTTP
server (devtools.webhook_receiver) that verifies signatures as docs/webhooks.md says.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from devtools.webhook_receiver import Reply, verify
from tests.support.connectors import (
    SEED_STATUSES_PATH,
    STATUSES_PATH,
    answer_with,
    customer_writes,
    deliveries_of,
    message_row,
    now_iso,
    reply,
    report,
    sweep_until_delivered,
    with_outbound_url,
)
from tests.support.event_log import all_events
from tests.support.ingest import batch, call_ingest, conversation, message
from tests.support.routes import call_route, service_claims
from tests.support.send import outbound_messages
from threadline.delivery.dispatcher import dispatch, sweep_deliveries
from threadline.delivery.queue import QueuedDelivery
from threadline.domain.events.targets import TARGET_KINDS


class TestTheRoundTrip:
    def test_a_telegram_reply_is_delivered_signed_its_status_comes_back_and_the_next_sync_adds_nothing(
        self, admin, make_connector, fake_connector
    ):
        # Given a Telegram connection with an outbound URL and a customer's conversation
        telegram = make_connector("telegram")
        secret = with_outbound_url(admin, telegram, fake_connector.url)
        assert secret is not None and secret.startswith("whsec_")
        conversation_id = customer_writes(telegram, "tg_chat_1")
        fake_connector.script(answer_with("tg_4242"))

        # When an agent replies: 201 with the message pending (delivered after the commit)
        status, body = reply(telegram, conversation_id)
        assert status == 201, body
        sent = body["message"]
        assert (sent["status"], sent["conversation_id"], sent["content"]) == (
            "pending",
            conversation_id,
            "Your parcel left this morning",
        )
        assert body["meta_id"] is None and fake_connector.requests == []
        [delivery] = deliveries_of(admin, telegram)
        assert (delivery["event_type"], delivery["status"]) == ("message.outbound", "pending")

        # And the dispatcher runs (no queue here: the sweep attempts it itself)
        sweep_deliveries(kinds=TARGET_KINDS)

        # Then the connector got one POST, signed with the connection's own secret
        [request] = fake_connector.requests
        assert verify(secret, request.headers["threadline-signature"], request.body)
        assert request.headers["threadline-event"] == "message.outbound"
        assert request.headers["threadline-delivery"] == str(delivery["id"])
        envelope = json.loads(request.body)
        assert set(envelope) == {"id", "event", "seq", "occurred_at", "tenant_id", "data"}
        assert envelope["data"] == {
            "message_id": sent["id"],
            "platform": "telegram",
            "connection_id": telegram.connection_id,
            "external_conversation_id": "tg_chat_1",
            "participant_identifier": "@johndoe",
            "type": "text",
            "content": "Your parcel left this morning",
            "media_url": None,
            "media_filename": None,
            "reply_to_external_id": None,
        }
        # And the message is sent under the platform's id
        stored = message_row(admin, sent["id"])
        assert (stored["status"], stored["external_id"]) == ("sent", "tg_4242")

        # When the connector reports delivered (by the platform's id), then read (by ours), then a late delivered
        status, body = report(telegram, {"external_id": "tg_4242", "status": "delivered", "occurred_at": now_iso()})
        assert status == 200, body
        assert body == {
            "success": True,
            "processed": 1,
            "results": [
                {"message_id": sent["id"], "external_id": "tg_4242", "status": "updated", "message_status": "delivered"}
            ],
        }
        assert report(telegram, {"message_id": sent["id"], "status": "read", "occurred_at": now_iso()})[1]["results"][
            0
        ]["status"] == ("updated")
        late = report(telegram, {"external_id": "tg_4242", "status": "delivered", "occurred_at": now_iso()})[1]
        assert late["results"][0] | {} == {
            "message_id": sent["id"],
            "external_id": "tg_4242",
            "status": "unchanged",
            "message_status": "read",
        }
        assert message_row(admin, sent["id"])["status"] == "read"

        # When the connector's next sync carries that same outbound message
        status, body = call_ingest(
            batch(
                telegram,
                conversation(
                    "tg_chat_1", "@johndoe", message("tg_4242", now_iso(), direction="outbound", content="Your parcel")
                ),
            ),
            api_key=telegram.api_secret,
        )
        # Then nothing is added: one message
        assert status == 200 and body["results"][0]["messages_added"] == 0, body
        assert [row["id"] for row in outbound_messages(admin, telegram.tenant_id)] == [sent["id"]]

        # And the log has every change: created pending, then sent, delivered, read
        changes = [
            (event["type"], event["data"]["status"])
            for event in all_events(service_claims(telegram.tenant_id))
            if event["type"].startswith("message.") and event["data"].get("message_id") == sent["id"]
        ]
        assert changes == [
            ("message.created", "pending"),
            ("message.status_changed", "sent"),
            ("message.status_changed", "delivered"),
            ("message.status_changed", "read"),
        ]

    def test_a_sync_that_arrives_before_the_connectors_answer_is_folded_into_the_reply(
        self, admin, make_connector, fake_connector
    ):
        signal = make_connector("signal")
        with_outbound_url(admin, signal, fake_connector.url)
        conversation_id = customer_writes(signal, "sig_chat", "+15550001111")
        status, body = reply(signal, conversation_id, {"content": "On its way"})
        assert status == 201, body
        reply_id = body["message"]["id"]
        # The connector sent it and its sync pushed the platform's copy before its answer was recorded
        status, synced = call_ingest(
            batch(
                signal,
                conversation(
                    "sig_chat",
                    "+15550001111",
                    message("sig_777", now_iso(), direction="outbound", content="On its way"),
                ),
            ),
            api_key=signal.api_secret,
        )
        assert synced["results"][0]["messages_added"] == 1
        report(signal, {"external_id": "sig_777", "status": "delivered", "occurred_at": now_iso()})
        fake_connector.script(answer_with("sig_777"))

        sweep_deliveries(kinds=TARGET_KINDS)

        # One message: the reply the agent's client knows, under the platform's id, as far along as the copy was
        [remaining] = outbound_messages(admin, signal.tenant_id)
        assert (remaining["id"], remaining["external_id"], remaining["status"]) == (reply_id, "sig_777", "delivered")
        count = admin.execute("SELECT message_count FROM conversations WHERE id = %s", (conversation_id,)).fetchone()
        assert count == (2,)  # the customer's message and the reply
        deleted = [e for e in all_events(service_claims(signal.tenant_id)) if e["type"] == "message.deleted"]
        assert [(e["data"]["merged_into"], e["data"]["external_id"]) for e in deleted] == [(reply_id, "sig_777")]
        # And a later sync still adds nothing
        status, again = call_ingest(
            batch(
                signal, conversation("sig_chat", "+15550001111", message("sig_777", now_iso(), direction="outbound"))
            ),
            api_key=signal.api_secret,
        )
        assert again["results"][0]["messages_added"] == 0

    def test_a_connector_answering_500_then_200_is_retried_under_one_delivery_id(
        self, admin, make_connector, fake_connector
    ):
        telegram = make_connector("telegram")
        secret = with_outbound_url(admin, telegram, fake_connector.url)
        conversation_id = customer_writes(telegram, "tg_retry")
        fake_connector.script(Reply(500), answer_with("tg_9"))
        status, body = reply(telegram, conversation_id)
        assert status == 201, body
        [delivery] = deliveries_of(admin, telegram)
        queued = [QueuedDelivery(telegram.tenant_id, delivery["id"])]

        first = dispatch(queued, kinds=TARGET_KINDS)
        assert (first.retrying, first.delivered) == (1, 0)
        assert message_row(admin, body["message"]["id"])["status"] == "pending"
        due = deliveries_of(admin, telegram)[0]["next_attempt_at"]
        second = dispatch(queued, now=due, kinds=TARGET_KINDS)

        assert (second.retrying, second.delivered) == (0, 1)
        assert {request.headers["threadline-delivery"] for request in fake_connector.requests} == {str(delivery["id"])}
        assert len({request.body for request in fake_connector.requests}) == 1
        assert all(verify(secret, r.headers["threadline-signature"], r.body) for r in fake_connector.requests)
        stored = message_row(admin, body["message"]["id"])
        assert (stored["status"], stored["external_id"]) == ("sent", "tg_9")

    def test_a_2xx_without_an_id_is_sent_and_a_status_naming_both_ids_records_the_platforms(
        self, admin, make_connector, fake_connector
    ):
        telegram = make_connector("telegram")
        with_outbound_url(admin, telegram, fake_connector.url)
        conversation_id = customer_writes(telegram, "tg_noid")
        fake_connector.script(Reply(202, b"queued"))
        message_id = reply(telegram, conversation_id)[1]["message"]["id"]
        sweep_deliveries(kinds=TARGET_KINDS)
        assert message_row(admin, message_id)["status"] == "sent"

        status, body = report(
            telegram,
            {"message_id": message_id, "external_id": "tg_55", "status": "delivered", "occurred_at": now_iso()},
        )

        assert status == 200 and body["results"][0]["status"] == "updated", body
        stored = message_row(admin, message_id)
        assert (stored["status"], stored["external_id"]) == ("delivered", "tg_55")

    def test_an_answer_naming_another_messages_id_still_sends_the_reply_under_its_own(
        self, admin, make_connector, fake_connector
    ):
        telegram = make_connector("telegram")
        with_outbound_url(admin, telegram, fake_connector.url)
        status, body = call_ingest(
            batch(telegram, conversation("tg_clash", "@ann", message("tg_5", now_iso()))), api_key=telegram.api_secret
        )
        assert status == 200, body
        conversation_id = body["results"][0]["conversation_id"]
        fake_connector.script(answer_with("tg_5"))  # the customer's own message's id: a connector's mistake
        message_id = reply(telegram, conversation_id)[1]["message"]["id"]

        sweep_deliveries(kinds=TARGET_KINDS)

        stored = message_row(admin, message_id)
        assert stored["status"] == "sent" and stored["external_id"].startswith("tl_")
        assert deliveries_of(admin, telegram)[0]["status"] == "delivered"
        inbound = admin.execute(
            "SELECT count(*) FROM messages WHERE conversation_id = %s AND external_id = 'tg_5'", (conversation_id,)
        ).fetchone()
        assert inbound == (1,)

    def test_a_delivery_given_up_fails_the_reply(self, admin, make_connector, fake_connector):
        telegram = make_connector("telegram")
        with_outbound_url(admin, telegram, fake_connector.url)
        conversation_id = customer_writes(telegram, "tg_dead")
        fake_connector.script(Reply(500), Reply(500))
        message_id = reply(telegram, conversation_id)[1]["message"]["id"]
        [delivery] = deliveries_of(admin, telegram)
        queued = [QueuedDelivery(telegram.tenant_id, delivery["id"])]
        dispatch(queued, kinds=TARGET_KINDS)

        outcome = dispatch(queued, now=delivery["give_up_at"] - timedelta(seconds=1), kinds=TARGET_KINDS)

        assert outcome.dead == 1
        stored = message_row(admin, message_id)
        assert (stored["status"], stored["error_title"], stored["error_details"]) == (
            "failed",
            "Not delivered to the connector",
            "HTTP 500",
        )


class TestRefusals:
    @pytest.mark.parametrize("platform", ["telegram", "signal", "wechat"])
    def test_without_an_outbound_url_the_reply_is_refused_and_nothing_is_written(self, admin, make_connector, platform):
        connector = make_connector(platform)
        conversation_id = customer_writes(connector, f"{platform}_no_url", "wx_follower")

        status, body = reply(connector, conversation_id)

        assert status == 400
        assert body == {
            "error": f"The connection {connector.connection_id} has no outbound_url, so replies to {platform} "
            "conversations cannot be delivered: set one with "
            f"`threadline connection update {connector.connection_id} --outbound-url URL`"
        }
        assert outbound_messages(admin, connector.tenant_id) == []
        assert deliveries_of(admin, connector) == []

    def test_a_template_is_whatsapps(self, admin, make_connector, fake_connector):
        telegram = make_connector("telegram")
        with_outbound_url(admin, telegram, fake_connector.url)
        conversation_id = customer_writes(telegram, "tg_template")
        status, body = reply(telegram, conversation_id, {"template": {"name": "order_update", "language": "en"}})
        assert (status, body) == (
            400,
            {"error": "Templates are WhatsApp's: send content or media to telegram conversations"},
        )
        assert outbound_messages(admin, telegram.tenant_id) == [] and deliveries_of(admin, telegram) == []

    def test_wechats_sixth_reply_in_a_window_is_refused_through_the_callback_path(
        self, admin, make_connector, fake_connector
    ):
        wechat = make_connector("wechat")
        with_outbound_url(admin, wechat, fake_connector.url)
        conversation_id = customer_writes(wechat, "wx_chat", "wx_follower")
        for n in range(5):
            status, body = reply(wechat, conversation_id, {"content": f"reply {n}"})
            assert (status, body["message"]["status"]) == (201, "pending"), body

        status, body = reply(wechat, conversation_id, {"content": "one too many"})

        assert (status, body) == (
            400,
            {
                "error": "Reply limit reached: this channel allows 5 replies per window; "
                "the customer's next message opens a new window"
            },
        )
        assert len(deliveries_of(admin, wechat)) == 5
        sweep_until_delivered(admin, wechat)
        assert sorted(json.loads(r.body)["data"]["content"] for r in fake_connector.requests) == [
            f"reply {n}" for n in range(5)
        ]
        # The customer's next message opens a new window
        customer_writes(wechat, "wx_chat", "wx_follower")
        assert reply(wechat, conversation_id, {"content": "a new window"})[0] == 201

    def test_an_idempotency_key_replays_the_pending_answer_without_a_second_delivery(
        self, admin, make_connector, fake_connector
    ):
        telegram = make_connector("telegram")
        with_outbound_url(admin, telegram, fake_connector.url)
        conversation_id = customer_writes(telegram, "tg_keyed")
        first = reply(telegram, conversation_id, key="reply-1")
        again = reply(telegram, conversation_id, key="reply-1")
        assert first[0] == again[0] == 201 and first[1] == again[1]
        assert len(deliveries_of(admin, telegram)) == 1
        assert reply(telegram, conversation_id, {"content": "something else"}, key="reply-1")[0] == 422


class TestStatusesRoute:
    def test_the_seed_style_path_answers_the_same(self, admin, make_connector, fake_connector):
        telegram = make_connector("telegram")
        with_outbound_url(admin, telegram, fake_connector.url)
        conversation_id = customer_writes(telegram, "tg_seed_path")
        message_id = reply(telegram, conversation_id)[1]["message"]["id"]
        status, body = report(
            telegram,
            {
                "message_id": message_id,
                "status": "failed",
                "error": {"code": 403, "title": "Bot was blocked"},
                "occurred_at": now_iso(),
            },
            path=SEED_STATUSES_PATH,
        )
        assert status == 200 and body["results"][0]["status"] == "updated", body
        stored = message_row(admin, message_id)
        assert (stored["status"], stored["error_code"], stored["error_title"]) == ("failed", 403, "Bot was blocked")

    def test_errors_in_the_ingest_seeds_order_and_bodies(self, admin, make_connector):
        telegram = make_connector("telegram")
        good = {"message_id": 1, "status": "read", "occurred_at": now_iso()}
        body = {"platform": "telegram", "connection_id": telegram.connection_id, "statuses": [good]}
        assert call_route("POST", STATUSES_PATH, body=body) == (401, {"error": "Missing x-api-key header"})
        assert call_route("POST", STATUSES_PATH, body="", headers={"x-api-key": "x"}) == (
            400,
            {"error": "Missing required fields: platform, connection_id, statuses"},
        )
        wrong_platform = body | {"platform": "signal"}
        assert call_route("POST", STATUSES_PATH, body=wrong_platform, headers={"x-api-key": telegram.api_secret}) == (
            401,
            {"error": "Invalid connection_id or platform"},
        )
        assert report(telegram, good, api_key="tl_wrong") == (401, {"error": "Invalid API key"})
        admin.execute("UPDATE connections SET is_active = false WHERE connection_id = %s", (telegram.connection_id,))
        assert report(telegram, good) == (403, {"error": "Connection is inactive"})

    @pytest.mark.parametrize(
        ("status_item", "error"),
        [
            (
                {"status": "read", "occurred_at": "2026-01-01T00:00:00Z"},
                "statuses[0]: message_id or external_id is required",
            ),
            ({"message_id": 1, "status": "played", "occurred_at": "2026-01-01T00:00:00Z"}, "statuses[0].status:"),
            ({"message_id": 1, "status": "read"}, "statuses[0].occurred_at:"),
            ({"message_id": 1, "status": "read", "occurred_at": "yesterday"}, "statuses[0].occurred_at:"),
            (
                {"message_id": 1, "status": "read", "error": {"title": "x"}, "occurred_at": "2026-01-01T00:00:00Z"},
                "statuses[0]: error is only for failed statuses",
            ),
            # messages.error_code is an integer (32 bits): these were a 500 that rolled the whole batch back.
            *(
                (
                    {
                        "message_id": 1,
                        "status": "failed",
                        "error": {"code": code},
                        "occurred_at": "2026-01-01T00:00:00Z",
                    },
                    "statuses[0].error.code: Input should be",
                )
                for code in (2**31, -(2**31) - 1, 2**63, 2**70)
            ),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
        self, admin, make_connector, fake_connector, status_item, error
    ):
        telegram = make_connector("telegram")
        with_outbound_url(admin, telegram, fake_connector.url)
        conversation_id = customer_writes(telegram, "tg_bad_input")
        message_id = reply(telegram, conversation_id)[1]["message"]["id"]
        valid = {"message_id": message_id, "status": "read", "occurred_at": now_iso()}

        status, body = report(telegram, valid, status_item)

        assert status == 400 and body["error"].replace("statuses[1]", "statuses[0]").startswith(error), body
        assert message_row(admin, message_id)["status"] == "pending"  # the valid status beside it was not applied

    @pytest.mark.parametrize("code", [2**31 - 1, -(2**31)])
    def test_an_error_code_at_either_end_of_32_bits_is_stored(self, admin, make_connector, fake_connector, code):
        telegram = make_connector("telegram")
        with_outbound_url(admin, telegram, fake_connector.url)
        message_id = reply(telegram, customer_writes(telegram, "tg_edge_code"))[1]["message"]["id"]
        failed = {"message_id": message_id, "status": "failed", "error": {"code": code}, "occurred_at": now_iso()}
        assert report(telegram, failed)[0] == 200
        assert (message_row(admin, message_id)["status"], message_row(admin, message_id)["error_code"]) == (
            "failed",
            code,
        )

    def test_another_tenants_key_and_messages(self, admin, make_connector, fake_connector):
        ours = make_connector("telegram")
        theirs = make_connector("telegram")
        with_outbound_url(admin, theirs, fake_connector.url)
        their_conversation = customer_writes(theirs, "tg_theirs")
        their_message = reply(theirs, their_conversation)[1]["message"]["id"]

        # Our key does not open their connection
        status, body = report(
            theirs, {"message_id": their_message, "status": "read", "occurred_at": now_iso()}, api_key=ours.api_secret
        )
        assert (status, body) == (401, {"error": "Invalid API key"})
        # Our connection cannot name their message, by either id
        status, body = report(
            ours,
            {"message_id": their_message, "status": "read", "occurred_at": now_iso()},
            {"message_id": their_message, "external_id": "tg_stolen", "status": "read", "occurred_at": now_iso()},
        )
        assert status == 200 and [r["status"] for r in body["results"]] == ["not_found", "not_found"]
        their_external_id = message_row(admin, their_message)["external_id"]
        assert (
            report(ours, {"external_id": their_external_id, "status": "read", "occurred_at": now_iso()})[1]["results"][
                0
            ]["status"]
            == "not_found"
        )
        stored = message_row(admin, their_message)
        assert (stored["status"], stored["external_id"]) == ("pending", their_external_id)
        # Nor reply into their conversation
        status, body = reply(ours, their_conversation)
        assert (status, body) == (403, {"error": "Forbidden"})

    def test_an_id_that_repeats_across_chats_needs_its_conversation(self, admin, make_connector, fake_connector):
        telegram = make_connector("telegram")
        with_outbound_url(admin, telegram, fake_connector.url)
        first = customer_writes(telegram, "tg_chat_a", "@ann")
        second = customer_writes(telegram, "tg_chat_b", "@bob")
        fake_connector.script(answer_with("7"), answer_with("7"))  # Telegram numbers messages per chat
        ids = [reply(telegram, first)[1]["message"]["id"], reply(telegram, second)[1]["message"]["id"]]
        sweep_deliveries(kinds=TARGET_KINDS)
        assert {message_row(admin, i)["external_id"] for i in ids} == {"7"}

        ambiguous = report(telegram, {"external_id": "7", "status": "read", "occurred_at": now_iso()})[1]
        assert ambiguous["results"][0]["status"] == (
            "error: external_id names messages in 2 conversations; add external_conversation_id"
        )
        narrowed = report(
            telegram,
            {"external_id": "7", "external_conversation_id": "tg_chat_b", "status": "read", "occurred_at": now_iso()},
        )[1]
        assert narrowed["results"][0] == {
            "message_id": ids[1],
            "external_id": "7",
            "status": "updated",
            "message_status": "read",
        }
        assert [message_row(admin, i)["status"] for i in ids] == ["sent", "read"]


class TestTheConnectionsEndpoint:
    def test_the_cli_sets_the_url_shows_the_secret_once_and_refuses_unsafe_urls(
        self, database_url, admin, capsys, monkeypatch, fake_connector
    ):
        from devtools.cli import main
        from threadline.db.repositories.tenants import insert_tenant

        monkeypatch.setenv("DATABASE_URL", database_url)
        tenant_id = insert_tenant(admin, f"tenant-{uuid.uuid4().hex[:8]}").id

        def cli(*args: str) -> tuple[int, Any]:
            try:
                status = main(list(args))
            except SystemExit as usage_error:
                status = int(usage_error.code or 0)
            out = capsys.readouterr()
            return status, json.loads(out.out if status == 0 else out.err)

        status, made = cli(
            "connection",
            "create",
            "--tenant",
            str(tenant_id),
            "--platform",
            "telegram",
            "--outbound-url",
            fake_connector.url,
        )
        assert status == 0, made
        assert made["outbound_url"] == fake_connector.url and made["outbound_secret"].startswith("whsec_")
        stored = admin.execute(
            "SELECT outbound_secret_ciphertext FROM connections WHERE connection_id = %s", (made["connection_id"],)
        ).fetchone()[0]
        assert made["outbound_secret"].encode() not in bytes(stored)  # sealed at rest

        # A new URL keeps the secret (not shown again)
        status, updated = cli("connection", "update", made["connection_id"], "--outbound-url", fake_connector.url + "2")
        assert status == 0 and updated["outbound_url"] == fake_connector.url + "2" and "outbound_secret" not in updated

        # Unsafe or malformed URLs are refused as webhooks' are, in the CLI's JSON, exit 2, nothing changed
        for url, error in (
            ("http://10.0.0.5/replies", "outbound_url: 10.0.0.5, a private, link-local or reserved address"),
            ("http://169.254.169.254/latest", "outbound_url: 169.254.169.254, a private, link-local"),
            ("ftp://connector.example.com/", "outbound_url: must be an absolute https URL"),
            ("https://0xa9fea9fe/latest", "outbound_url: 169.254.169.254, a private, link-local"),
            ("https://167772161/replies", "outbound_url: 10.0.0.1, a private, link-local"),
            ("https://connector.example.com/\r\nX: 1", "outbound_url: must not contain whitespace or control"),
        ):
            status, refused = cli("connection", "update", made["connection_id"], "--outbound-url", url)
            assert status == 2 and refused["error"].startswith(error), refused
        assert admin.execute(
            "SELECT outbound_url FROM connections WHERE connection_id = %s", (made["connection_id"],)
        ).fetchone() == (fake_connector.url + "2",)

        # Rotation: a new secret; both sign for 24 hours
        status, rotated = cli("connection", "rotate-secret", made["connection_id"])
        assert status == 0 and rotated["outbound_secret"] not in (made["outbound_secret"], None)
        assert rotated["previous_secret_expires_at"]

        # Removing the URL refuses replies again
        status, removed = cli("connection", "update", made["connection_id"], "--outbound-url", "none")
        assert (status, removed["outbound_url"]) == (0, None)
        assert cli("connection", "rotate-secret", "no_such_connection") == (
            2,
            {"error": "No connection no_such_connection"},
        )

    def test_during_a_rotation_both_secrets_sign_then_only_the_new_one(self, admin, make_connector, fake_connector):
        from threadline.domain.replies.connector_callbacks import rotate_outbound_signing_secret

        telegram = make_connector("telegram")
        old_secret = with_outbound_url(admin, telegram, fake_connector.url)
        assert old_secret is not None
        rotated = rotate_outbound_signing_secret(admin, telegram.connection_id)
        new_secret = rotated.outbound_secret
        assert new_secret is not None and rotated.previous_secret_expires_at is not None
        conversation_id = customer_writes(telegram, "tg_rotation")
        reply(telegram, conversation_id, {"content": "first"})
        reply(telegram, conversation_id, {"content": "second"})
        first, second = deliveries_of(admin, telegram)

        dispatch([QueuedDelivery(telegram.tenant_id, first["id"])], kinds=TARGET_KINDS)
        after_overlap = rotated.previous_secret_expires_at + timedelta(minutes=1)
        dispatch([QueuedDelivery(telegram.tenant_id, second["id"])], now=after_overlap, kinds=TARGET_KINDS)

        during, after = fake_connector.requests
        assert during.headers["threadline-signature"].count("v1=") == 2
        assert verify(new_secret, during.headers["threadline-signature"], during.body)
        assert verify(old_secret, during.headers["threadline-signature"], during.body)
        signature = after.headers["threadline-signature"]
        assert signature.count("v1=") == 1
        # Signed at the dispatcher's (future) clock: verify at that time
        assert verify(new_secret, signature, after.body, now=after_overlap.timestamp())
        assert not verify(old_secret, signature, after.body, now=after_overlap.timestamp())
