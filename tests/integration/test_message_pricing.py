"""What each send cost: Meta's `pricing` and `conversation` objects on status webhooks, kept on the message (the
latest status that moves it forward wins), shown in both message views, and counted per category on the
conversation detail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.support.factories import Number
from tests.support.meta_payloads import change, notification, now_seconds, post, status
from tests.support.read import claims_for
from tests.support.routes import call_route

pytestmark = pytest.mark.usefixtures("meta_secrets")

MARKETING = {"billable": True, "pricing_model": "PMP", "category": "marketing", "type": "regular"}
SERVICE_FREE = {"pricing_model": "PMP", "category": "service", "type": "free_customer_service"}
SERVICE_CHARGED = {"pricing_model": "PMP", "category": "service", "type": "regular"}


def conversation_for(admin: psycopg.Connection[Any], number: Number, wa_id: str = "16505551234") -> int:
    contact_id = admin.execute(
        "INSERT INTO contacts (tenant_id, identifier, phone_digits) VALUES (%s, %s, %s) RETURNING id",
        (number.tenant_id, f"+{wa_id}", wa_id),
    ).fetchone()[0]  # type: ignore[index]
    return admin.execute(
        "INSERT INTO conversations (tenant_id, connection_id, platform, external_conversation_id, contact_id,"
        " last_inbound_at) VALUES (%s, %s, 'whatsapp', %s, %s, %s) RETURNING id",
        (
            number.tenant_id,
            number.connection_uuid,
            f"whatsapp:{number.phone_number_id}:{wa_id}",
            contact_id,
            datetime.now(UTC) - timedelta(hours=1),
        ),
    ).fetchone()[0]  # type: ignore[index]


def sent_message(admin: psycopg.Connection[Any], number: Number, conversation_id: int, meta_id: str) -> int:
    return admin.execute(
        "INSERT INTO messages (tenant_id, conversation_id, external_id, meta_id, direction, type, content, sent_at,"
        " status, source) VALUES (%s, %s, %s, %s, 'outbound', 'text', 'Hello from us', now(), 'pending', 'api')"
        " RETURNING id",
        (number.tenant_id, conversation_id, f"tl_{uuid.uuid4().hex}", meta_id),
    ).fetchone()[0]  # type: ignore[index]


def deliver(number: Number, *updates: dict[str, Any]) -> None:
    answer = post(notification(change(number.phone_number_id, statuses=list(updates))))
    assert answer.status == 200, answer.body


def stored(admin: psycopg.Connection[Any], message_id: int) -> dict[str, Any]:
    row = admin.execute(
        "SELECT status, pricing, billing_conversation, error_details FROM messages WHERE id = %s", (message_id,)
    ).fetchone()
    assert row is not None
    return {"status": row[0], "pricing": row[1], "billing_conversation": row[2], "error_details": row[3]}


class TestKeptOnTheMessage:
    def test_a_status_s_pricing_and_conversation_are_kept(self, number, admin):
        conversation_id = conversation_for(admin, number)
        message_id = sent_message(admin, number, conversation_id, "wamid.priced-1")
        expires = now_seconds(86_400)

        deliver(
            number,
            status(
                "wamid.priced-1",
                "sent",
                pricing=MARKETING,
                conversation={"id": "conv-1", "expiration_timestamp": str(expires), "origin": {"type": "marketing"}},
            ),
        )

        row = stored(admin, message_id)
        assert row["pricing"] == MARKETING
        assert row["billing_conversation"] == {
            "id": "conv-1",
            "origin_type": "marketing",
            "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(),
        }

    def test_the_latest_status_that_moves_the_message_wins_and_a_late_one_changes_nothing(self, number, admin):
        conversation_id = conversation_for(admin, number)
        message_id = sent_message(admin, number, conversation_id, "wamid.priced-2")
        t = now_seconds(-100)

        deliver(number, status("wamid.priced-2", "sent", at=t, pricing=SERVICE_FREE))
        deliver(number, status("wamid.priced-2", "read", at=t + 20, pricing=SERVICE_CHARGED))
        deliver(number, status("wamid.priced-2", "delivered", at=t + 10, pricing=SERVICE_FREE))

        assert stored(admin, message_id)["pricing"] == SERVICE_CHARGED

    def test_a_status_without_pricing_keeps_the_earlier_one(self, number, admin):
        conversation_id = conversation_for(admin, number)
        message_id = sent_message(admin, number, conversation_id, "wamid.priced-3")
        t = now_seconds(-100)

        deliver(number, status("wamid.priced-3", "delivered", at=t, pricing=MARKETING))
        deliver(number, status("wamid.priced-3", "read", at=t + 5))

        assert stored(admin, message_id) | {"error_details": None} == {
            "status": "read",
            "pricing": MARKETING,
            "billing_conversation": None,
            "error_details": None,
        }

    def test_a_late_status_records_a_price_the_message_never_had_and_nothing_else(self, number, admin):
        conversation_id = conversation_for(admin, number)
        message_id = sent_message(admin, number, conversation_id, "wamid.priced-6")
        t = now_seconds(-100)

        deliver(number, status("wamid.priced-6", "read", at=t + 20))
        deliver(number, status("wamid.priced-6", "delivered", at=t + 10, pricing=SERVICE_CHARGED))
        deliver(number, status("wamid.priced-6", "sent", at=t, pricing=SERVICE_FREE))

        row = stored(admin, message_id)
        assert (row["status"], row["pricing"]) == ("read", SERVICE_CHARGED)

    def test_in_one_delivery_the_most_advanced_status_naming_a_price_speaks(self, number, admin):
        conversation_id = conversation_for(admin, number)
        message_id = sent_message(admin, number, conversation_id, "wamid.priced-4")
        t = now_seconds(-100)

        deliver(
            number,
            status("wamid.priced-4", "read", at=t + 20),
            status("wamid.priced-4", "delivered", at=t + 10, pricing=SERVICE_CHARGED),
            status("wamid.priced-4", "sent", at=t, pricing=SERVICE_FREE),
        )

        row = stored(admin, message_id)
        assert (row["status"], row["pricing"]) == ("read", SERVICE_CHARGED)

    def test_a_failed_status_keeps_its_error_details(self, number, admin):
        conversation_id = conversation_for(admin, number)
        message_id = sent_message(admin, number, conversation_id, "wamid.priced-5")
        error = {"code": 131049, "title": "Not delivered", "error_data": {"details": "Healthy ecosystem limit."}}

        deliver(number, status("wamid.priced-5", "failed", errors=[error]))

        assert stored(admin, message_id)["error_details"] == "Healthy ecosystem limit."


class TestShownAndCounted:
    def test_both_message_views_show_the_pricing_and_the_detail_counts_billable_messages(self, number, admin):
        conversation_id = conversation_for(admin, number)
        marketing = sent_message(admin, number, conversation_id, "wamid.count-1")
        free_reply = sent_message(admin, number, conversation_id, "wamid.count-2")
        charged_reply = sent_message(admin, number, conversation_id, "wamid.count-3")
        legacy = sent_message(admin, number, conversation_id, "wamid.count-4")
        sent_message(admin, number, conversation_id, "wamid.count-5")  # no status yet: no price
        deliver(
            number,
            status("wamid.count-1", "delivered", pricing=MARKETING),
            status("wamid.count-2", "delivered", pricing=SERVICE_FREE),
            status("wamid.count-3", "delivered", pricing=SERVICE_CHARGED),
            # An older payload: no type, only Meta's billable flag.
            status("wamid.count-4", "sent", pricing={"billable": True, "pricing_model": "CBP", "category": "utility"}),
        )
        claims = claims_for(number.tenant_id)

        code, page = call_route("GET", f"/api/v1/conversations/{conversation_id}/messages", claims=claims)
        assert code == 200
        by_id = {message["id"]: message for message in page["messages"]}
        assert by_id[marketing]["pricing"] == {
            "category": "marketing",
            "type": "regular",
            "pricing_model": "PMP",
            "billable": True,
            "charged": True,
        }
        assert by_id[free_reply]["pricing"]["charged"] is False
        assert by_id[charged_reply]["pricing"] | {} == {
            "category": "service",
            "type": "regular",
            "pricing_model": "PMP",
            "billable": None,
            "charged": True,
        }
        assert by_id[legacy]["pricing"]["charged"] is True

        code, agent = call_route("GET", f"/api/agent/conversations/{conversation_id}/messages", claims=claims)
        assert code == 200
        agent_by_id = {message["id"]: message for message in agent["data"]["messages"]}
        assert agent_by_id[marketing]["pricing"] == by_id[marketing]["pricing"]
        assert agent_by_id[marketing]["billing_conversation"] is None

        code, detail = call_route("GET", f"/v1/conversations/{conversation_id}", claims=claims)
        assert code == 200
        assert detail["billable_messages"] == {
            "total": 3,
            "by_category": {"marketing": 1, "service": 1, "utility": 1},
        }

    def test_a_conversation_without_priced_messages_counts_none(self, number, admin):
        conversation_id = conversation_for(admin, number)

        code, detail = call_route("GET", f"/v1/conversations/{conversation_id}", claims=claims_for(number.tenant_id))

        assert code == 200
        assert detail["billable_messages"] == {"total": 0, "by_category": {}}
