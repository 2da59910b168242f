"""Every message type Meta documents, received through the real webhook handler and read back through both message
views (GET /v1/conversations/{id}/messages and the agent route): what it reads as, its typed data, the ad it came
from, what it quotes and whether it was forwarded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from tests.support.event_log import all_events
from tests.support.factories import Number
from tests.support.meta_payloads import (
    DOCUMENTED_MESSAGES,
    EXAMPLE_REFERRAL,
    change,
    contact,
    documented_message,
    inbound,
    notification,
    now_seconds,
    post,
    text_message,
    wamid,
)
from tests.support.read import call, claims_for

pytestmark = pytest.mark.usefixtures("meta_secrets")


def receive(number: Number, *messages: dict[str, Any]) -> None:
    answer = post(notification(change(number.phone_number_id, contacts=[contact()], messages=list(messages))))
    assert answer.status == 200, answer.body


def conversation_of(admin: psycopg.Connection[Any], number: Number, meta_id: str) -> int:
    row = admin.execute(
        "SELECT conversation_id FROM messages WHERE tenant_id = %s AND meta_id = %s", (number.tenant_id, meta_id)
    ).fetchone()
    assert row is not None, meta_id
    return int(row[0])


def views(number: Number, conversation_id: int) -> tuple[dict[int, Any], dict[int, Any]]:
    """Both views of the conversation's messages, by message id: (v1 list, agent route)."""
    claims = claims_for(number.tenant_id)
    status, listed = call("list_messages_v1", claims=claims, path_id=conversation_id, query={"limit": "100"})
    assert status == 200, listed
    status, agent = call("agent_messages", claims=claims, path_id=conversation_id, query={"limit": "100"})
    assert status == 200, agent
    return (
        {item["id"]: item for item in listed["messages"]},
        {item["id"]: item for item in agent["data"]["messages"]},
    )


def message_id_of(admin: psycopg.Connection[Any], number: Number, meta_id: str) -> int:
    row = admin.execute(
        "SELECT id FROM messages WHERE tenant_id = %s AND meta_id = %s", (number.tenant_id, meta_id)
    ).fetchone()
    assert row is not None
    return int(row[0])


# What each documented type reads as, and the typed data both views show for it.
EXPECTED = {
    "text": ("Does it come in another color?", None),
    "image": ("This is the one", None),
    "sticker": (
        "Sticker",
        {"kind": "sticker", "animated": False, "media_id": "1003383421387257", "mime_type": "image/webp"},
    ),
    "audio": ("Voice message", None),
    "video": ("Unboxing", None),
    "document": ("Invoice", None),
    "location": (
        "Location: Philz Coffee, 1 Hacker Way, Menlo Park, CA 94025",
        {
            "kind": "location",
            "latitude": 37.483253479003906,
            "longitude": -122.14960479736328,
            "name": "Philz Coffee",
            "address": "1 Hacker Way, Menlo Park, CA 94025",
            "url": "https://philzcoffee.com",
        },
    ),
    "contacts": (
        "Contact: Barbara J. Johnson",
        {
            "kind": "contacts",
            "contacts": [
                {
                    "name": "Barbara J. Johnson",
                    "phones": [{"phone": "+1 (415) 555-0123", "wa_id": "14155550123", "type": "WORK"}],
                    "emails": [{"email": "bjohnson@luckyshrub.com", "type": "WORK"}],
                    "organization": "Lucky Shrub",
                }
            ],
        },
    ),
    "order": (
        "Order: 2 x di9ozbzfi4, 1 x nqryix03ez — total 85.50 USD (Gift wrap, please)",
        {
            "kind": "order",
            "catalog_id": "194836987003835",
            "note": "Gift wrap, please",
            "items": [
                {"product_id": "di9ozbzfi4", "quantity": 2, "item_price": 30.0, "currency": "USD"},
                {"product_id": "nqryix03ez", "quantity": 1, "item_price": 25.5, "currency": "USD"},
            ],
            "total": {"amount": 85.5, "currency": "USD"},
        },
    ),
    "button": (
        "Unsubscribe from Promos",
        {"kind": "button", "text": "Unsubscribe from Promos", "payload": "Unsubscribe from Promos"},
    ),
    "interactive": (
        "Cancel",
        {
            "kind": "interactive",
            "reply_type": "button_reply",
            "id": "cancel-button",
            "title": "Cancel",
            "description": None,
            "response": None,
        },
    ),
    "system": (
        "User Sheena Nelson changed from +1 650-555-1234 to +1 219-555-5358",
        {
            "kind": "system",
            "system_type": "user_changed_number",
            "body": "User Sheena Nelson changed from +1 650-555-1234 to +1 219-555-5358",
            "new_wa_id": "12195555358",
            "new_user_id": None,
            "previous_user_id": None,
        },
    ),
    "request_welcome": ("The customer opened the chat", {"kind": "request_welcome"}),
    "unsupported": (
        "Message type unknown",
        {
            "kind": "unsupported",
            "unsupported_type": "poll_creation",
            "error": {
                "code": 131051,
                "title": "Message type unknown",
                "details": "Message type is currently not supported.",
            },
        },
    ),
}


class TestEveryDocumentedTypeIsReadable:
    @pytest.mark.parametrize("message_type", sorted(DOCUMENTED_MESSAGES))
    def test_it_reads_as_what_it_is_with_its_data_in_both_views(self, number, admin, message_type):
        meta_id = wamid()
        receive(number, documented_message(meta_id, message_type))

        conversation_id = conversation_of(admin, number, meta_id)
        listed, agent = views(number, conversation_id)
        message_id = message_id_of(admin, number, meta_id)
        content, details = EXPECTED[message_type]
        assert (listed[message_id]["content"], listed[message_id]["details"]) == (content, details)
        assert (agent[message_id]["body"], agent[message_id]["details"]) == (content, details)
        assert not content.startswith("Unsupported message (")

    def test_notices_from_whatsapp_are_system_messages_that_open_no_window(self, number, admin):
        meta_id = wamid()
        receive(number, documented_message(meta_id, "system"))

        conversation_id = conversation_of(admin, number, meta_id)
        listed, agent = views(number, conversation_id)
        message_id = message_id_of(admin, number, meta_id)
        assert listed[message_id]["is_system"] is True and agent[message_id]["is_system_message"] is True
        window = admin.execute(
            "SELECT window_expires_at FROM conversations WHERE id = %s", (conversation_id,)
        ).fetchone()
        assert window == (None,)

    def test_the_customer_opening_the_chat_opens_the_window_for_a_welcome_message(self, number, admin):
        meta_id = wamid()
        receive(number, documented_message(meta_id, "request_welcome"))

        conversation_id = conversation_of(admin, number, meta_id)
        listed, _ = views(number, conversation_id)
        assert listed[message_id_of(admin, number, meta_id)]["is_system"] is False
        window = admin.execute(
            "SELECT window_expires_at > now() FROM conversations WHERE id = %s", (conversation_id,)
        ).fetchone()
        assert window == (True,)

    def test_a_list_reply_and_a_flow_answer_name_the_row_and_keep_the_answers(self, number, admin):
        row, flow = wamid(), wamid()
        list_reply = {
            "type": "list_reply",
            "list_reply": {"id": "priority_express", "title": "Express Shipping", "description": "Next day"},
        }
        flow_reply = {
            "type": "nfm_reply",
            "nfm_reply": {"name": "flow", "body": "Sent", "response_json": '{"flow_token": "t1", "size": "M"}'},
        }
        receive(number, inbound(row, "interactive", list_reply), inbound(flow, "interactive", flow_reply))

        listed, _ = views(number, conversation_of(admin, number, row))
        by_meta = {message_id_of(admin, number, meta_id): meta_id for meta_id in (row, flow)}
        shown = {by_meta[key]: value for key, value in listed.items() if key in by_meta}
        assert (shown[row]["content"], shown[row]["details"]["description"]) == ("Express Shipping", "Next day")
        assert shown[flow]["content"] == "Form response: Sent"
        assert shown[flow]["details"]["response"] == {"flow_token": "t1", "size": "M"}

    def test_an_order_with_mixed_currencies_lists_its_items_without_a_total(self, number, admin):
        meta_id = wamid()
        order = {
            "catalog_id": "1",
            "product_items": [
                {"product_retailer_id": "a", "quantity": 1, "item_price": 3, "currency": "USD"},
                {"product_retailer_id": "b", "quantity": 4, "item_price": 2, "currency": "EUR"},
            ],
        }
        receive(number, inbound(meta_id, "order", order))

        listed, _ = views(number, conversation_of(admin, number, meta_id))
        shown = listed[message_id_of(admin, number, meta_id)]
        assert shown["content"] == "Order: 1 x a, 4 x b"
        assert shown["details"]["total"] is None and len(shown["details"]["items"]) == 2

    def test_the_ad_a_customer_came_from_is_shown_with_their_message(self, number, admin):
        meta_id = wamid()
        receive(number, text_message(meta_id, "I saw your ad") | {"referral": EXAMPLE_REFERRAL})

        listed, agent = views(number, conversation_of(admin, number, meta_id))
        message_id = message_id_of(admin, number, meta_id)
        expected = {name: EXAMPLE_REFERRAL.get(name) for name in listed[message_id]["referral"]}
        assert listed[message_id]["referral"] == expected == agent[message_id]["referral"]
        assert expected["source_type"] == "ad" and expected["ctwa_clid"] == EXAMPLE_REFERRAL["ctwa_clid"]
        assert expected["video_url"] is None

    def test_a_type_meta_does_not_document_still_arrives_raw(self, number, admin):
        meta_id = wamid()
        receive(number, inbound(meta_id, "hologram", {"shape": "cube"}))

        row = admin.execute("SELECT content, payload, details FROM messages WHERE meta_id = %s", (meta_id,)).fetchone()
        assert row == ("Unsupported message (hologram)", {"type": "hologram", "hologram": {"shape": "cube"}}, None)


class TestQuotedRepliesAndForwarding:
    def our_message(
        self, admin: psycopg.Connection[Any], conversation_id: int, number: Number, text: str
    ) -> tuple[int, str]:
        meta_id = f"wamid.ours-{uuid.uuid4().hex}"
        row = admin.execute(
            "INSERT INTO messages (tenant_id, conversation_id, external_id, meta_id, direction, type, content, sent_at,"
            " status, source) VALUES (%s, %s, %s, %s, 'outbound', 'text', %s, now(), 'sent', 'api') RETURNING id",
            (number.tenant_id, conversation_id, f"tl_{uuid.uuid4().hex}", meta_id, text),
        ).fetchone()
        assert row is not None
        return int(row[0]), meta_id

    def test_a_reply_names_the_message_it_quotes_in_both_views(self, number, admin):
        first = wamid()
        receive(number, text_message(first, "Hello", at=now_seconds(-60)))
        conversation_id = conversation_of(admin, number, first)
        long_text = "Your order 42 is ready. " * 20
        quoted_id, quoted_wamid = self.our_message(admin, conversation_id, number, long_text)
        reply = wamid()

        receive(number, text_message(reply, "Great, thanks") | {"context": {"from": "15550783881", "id": quoted_wamid}})

        listed, agent = views(number, conversation_id)
        reply_id = message_id_of(admin, number, reply)
        tenant_name = admin.execute("SELECT name FROM tenants WHERE id = %s", (number.tenant_id,)).fetchone()[0]  # type: ignore[index]
        expected = {
            "id": quoted_id,
            "content": long_text[:200],
            "author": {
                "id": str(number.tenant_id),
                "name": tenant_name,
                "type": "agent",
                "avatar_url": None,
                "initials": listed[reply_id]["reply_to"]["author"]["initials"],
            },
        }
        assert listed[reply_id]["reply_to"] == expected == agent[reply_id]["reply_to"]
        assert len(listed[reply_id]["reply_to"]["content"]) == 200

    def test_quoting_a_message_threadline_does_not_know_shows_null(self, number, admin):
        reply = wamid()
        receive(
            number, text_message(reply, "About that?") | {"context": {"from": "15550783881", "id": "wamid.unknown"}}
        )

        listed, agent = views(number, conversation_of(admin, number, reply))
        reply_id = message_id_of(admin, number, reply)
        assert listed[reply_id]["reply_to"] is None and agent[reply_id]["reply_to"] is None

    def test_a_quote_of_the_second_wamid_meta_gave_a_message_still_finds_it(self, number, admin):
        first = wamid()
        receive(number, text_message(first, "Hi", at=now_seconds(-60)))
        conversation_id = conversation_of(admin, number, first)
        quoted_id, _ = self.our_message(admin, conversation_id, number, "Which size?")
        admin.execute(
            "INSERT INTO whatsapp_message_aliases (tenant_id, meta_id, message_id) VALUES (%s, 'wamid.bsuid-scoped', %s)",
            (number.tenant_id, quoted_id),
        )
        reply = wamid()

        receive(number, text_message(reply, "M") | {"context": {"id": "wamid.bsuid-scoped"}})

        listed, _ = views(number, conversation_id)
        assert listed[message_id_of(admin, number, reply)]["reply_to"]["id"] == quoted_id

    def test_a_customer_quoting_their_own_message_is_the_customer_s(self, number, admin):
        first, reply = wamid(), wamid()
        receive(number, text_message(first, "Size M", at=now_seconds(-60)))
        receive(number, text_message(reply, "Sorry, L") | {"context": {"from": "16505551234", "id": first}})

        listed, _ = views(number, conversation_of(admin, number, reply))
        quoted = listed[message_id_of(admin, number, reply)]["reply_to"]
        assert (quoted["content"], quoted["author"]["type"], quoted["author"]["name"]) == (
            "Size M",
            "customer",
            "Sheena Nelson",
        )

    def test_forwarded_and_frequently_forwarded_are_kept(self, number, admin):
        plain, forwarded, frequently = wamid(), wamid(), wamid()
        receive(
            number,
            text_message(plain, "Mine"),
            text_message(forwarded, "Look at this") | {"context": {"forwarded": True}},
            text_message(frequently, "Chain letter") | {"context": {"frequently_forwarded": True}},
        )

        listed, agent = views(number, conversation_of(admin, number, plain))
        flags = {
            meta_id: (
                listed[message_id_of(admin, number, meta_id)]["forwarded"],
                agent[message_id_of(admin, number, meta_id)]["frequently_forwarded"],
            )
            for meta_id in (plain, forwarded, frequently)
        }
        assert flags == {plain: (False, False), forwarded: (True, False), frequently: (True, True)}


def edit_of(meta_id: str, original: str, text: str, *, at: int | None = None) -> dict[str, Any]:
    """Meta's `edit` message (edit messages webhook reference): the original's wamid and the edited message."""
    edited = {"original_message_id": original, "message": {"type": "text", "text": {"body": text}}}
    return inbound(meta_id, "edit", edited, at=at)


def revoke_of(meta_id: str, original: str, *, at: int | None = None) -> dict[str, Any]:
    """Meta's `revoke` message (revoke messages webhook reference)."""
    return inbound(meta_id, "revoke", {"original_message_id": original}, at=at)


def revisions(admin: psycopg.Connection[Any], message_id: int) -> list[tuple[Any, ...]]:
    return admin.execute(
        "SELECT kind, previous_content FROM message_revisions WHERE message_id = %s ORDER BY changed_at, id",
        (message_id,),
    ).fetchall()


class TestEditsAndRevocations:
    @pytest.fixture
    def original(self, number, admin) -> dict[str, Any]:
        meta_id = wamid()
        receive(number, text_message(meta_id, "I want size M", at=now_seconds(-300)))
        message_id = message_id_of(admin, number, meta_id)
        return {"meta_id": meta_id, "id": message_id, "conversation_id": conversation_of(admin, number, meta_id)}

    def shown(self, number: Number, original: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        listed, agent = views(number, original["conversation_id"])
        return listed[original["id"]], agent[original["id"]]

    def test_an_edit_changes_the_text_keeps_the_old_one_and_shows_when(self, number, admin, original):
        count_before = admin.execute(
            "SELECT message_count FROM conversations WHERE id = %s", (original["conversation_id"],)
        ).fetchone()
        edited_at = now_seconds(-200)

        receive(number, edit_of(wamid(), original["meta_id"], "I want size L", at=edited_at))

        listed, agent = self.shown(number, original)
        assert (listed["content"], agent["body"]) == ("I want size L", "I want size L")
        assert listed["edited_at"] == agent["edited_at"] is not None
        assert listed["edited_at"].startswith(datetime.fromtimestamp(edited_at, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
        assert revisions(admin, original["id"]) == [("edit", "I want size M")]
        count_after = admin.execute(
            "SELECT message_count FROM conversations WHERE id = %s", (original["conversation_id"],)
        ).fetchone()
        assert count_after == count_before  # the edit is not a message of its own
        events = all_events(claims_for(number.tenant_id), conversation_id=original["conversation_id"])
        updated = [event for event in events if event["type"] == "message.updated"]
        assert updated[-1]["data"]["content"] == "I want size L" and updated[-1]["data"]["edited_at"] is not None

    def test_an_older_edit_delivered_late_and_a_resent_one_change_nothing(self, number, admin, original):
        newer = edit_of(wamid(), original["meta_id"], "Size XL", at=now_seconds(-100))
        receive(number, newer)
        receive(number, edit_of(wamid(), original["meta_id"], "Size L", at=now_seconds(-200)))
        receive(number, newer)

        assert self.shown(number, original)[0]["content"] == "Size XL"
        assert revisions(admin, original["id"]) == [("edit", "I want size M")]

    def test_a_revocation_hides_the_content_everywhere_and_keeps_it_for_audit(self, number, admin, original):
        quoting = wamid()
        receive(
            number, text_message(quoting, "See above", at=now_seconds(-250)) | {"context": {"id": original["meta_id"]}}
        )
        receive(number, revoke_of(wamid(), original["meta_id"], at=now_seconds(-60)))

        listed, agent = self.shown(number, original)
        assert (listed["content"], agent["body"]) == ("", "")
        assert listed["deleted_at"] is not None and agent["deleted_at"] == listed["deleted_at"]
        assert revisions(admin, original["id"]) == [("revoke", "I want size M")]
        quote = views(number, original["conversation_id"])[0][message_id_of(admin, number, quoting)]["reply_to"]
        assert quote["id"] == original["id"] and quote["content"] == ""
        events = all_events(claims_for(number.tenant_id), conversation_id=original["conversation_id"])
        assert [e["data"]["content"] for e in events if e["type"] == "message.updated"][-1] == ""
        # Nothing brings it back.
        receive(number, edit_of(wamid(), original["meta_id"], "Back again", at=now_seconds(-30)))
        assert self.shown(number, original)[0]["content"] == ""

    def test_a_revoked_newest_message_leaves_an_empty_preview(self, number, admin):
        meta_id = wamid()
        receive(number, text_message(meta_id, "My card number is 4111", at=now_seconds(-10)))
        conversation_id = conversation_of(admin, number, meta_id)

        receive(number, revoke_of(wamid(), meta_id))

        preview = admin.execute("SELECT last_message_preview FROM conversations WHERE id = %s", (conversation_id,))
        assert preview.fetchone() == ("",)

    def test_a_tenant_that_keeps_no_revoked_content_keeps_no_text_and_no_earlier_edits(self, number, admin):
        admin.execute("UPDATE tenants SET keep_revoked_content = false WHERE id = %s", (number.tenant_id,))
        meta_id = wamid()
        receive(number, documented_message(meta_id, "location", at=now_seconds(-300)))
        message_id = message_id_of(admin, number, meta_id)
        receive(number, revoke_of(wamid(), meta_id, at=now_seconds(-10)))

        assert revisions(admin, message_id) == [("revoke", None)]
        row = admin.execute("SELECT content, payload, details FROM messages WHERE id = %s", (message_id,)).fetchone()
        assert row == ("", None, None)

        edited = wamid()
        receive(number, text_message(edited, "First words", at=now_seconds(-300)))
        edited_id = message_id_of(admin, number, edited)
        receive(number, edit_of(wamid(), edited, "Second words", at=now_seconds(-200)))
        receive(number, revoke_of(wamid(), edited, at=now_seconds(-100)))
        assert revisions(admin, edited_id) == [("edit", None), ("revoke", None)]

    def test_revoking_a_message_that_showed_no_text_is_still_logged(self, number, admin):
        meta_id = wamid()
        receive(number, text_message(meta_id, "", at=now_seconds(-60)))
        conversation_id = conversation_of(admin, number, meta_id)
        claims = claims_for(number.tenant_id)
        after = max(event["seq"] for event in all_events(claims))

        receive(number, revoke_of(wamid(), meta_id))

        [event] = all_events(claims, after=after)
        assert (event["type"], event["conversation_id"]) == ("message.updated", conversation_id)
        assert event["data"]["deleted_at"] is not None

    def test_an_edit_or_revocation_of_an_unknown_message_is_kept_as_a_dead_letter(self, number, admin):
        receive(number, edit_of(wamid(), "wamid.never-seen", "new"), revoke_of(wamid(), "wamid.never-seen-either"))

        [reason] = [
            row[0]
            for row in admin.execute(
                "SELECT reason FROM whatsapp_dead_letters WHERE tenant_id = %s ORDER BY id DESC LIMIT 1",
                (number.tenant_id,),
            ).fetchall()
        ]
        assert reason == (
            "messages[0]: an edit of a message Threadline does not know (or not the customer's); "
            "messages[1]: a revocation of a message Threadline does not know (or not the customer's)"
        )
