"""GET /api/agent/conversations/{conversation_id}/messages, exactly as the agent-dashboard document specifies."""

from __future__ import annotations

import math

import pytest

from tests.support.ingest import message
from tests.support.read import add_agent, add_message, call, chat, ingest, make_tenant

# A link listed as the message came with it (not a kept medium): the kept-media fields are null.
AS_GIVEN = {"state": None, "sha256": None, "failure_reason": None, "url_expires_at": None, "disposition": None}


@pytest.fixture
def tenant(make_connector):
    return make_tenant(make_connector)


@pytest.fixture
def other_tenant(make_connector):
    return make_tenant(make_connector)


def agent_messages(tenant, conversation_id, **query: str):
    return call("agent_messages", claims=tenant.claims, path_id=conversation_id, query=query or None)


@pytest.fixture
def seed_example(tenant, admin):
    """The document's example thread: John Smith and Admin User, five messages."""
    [conversation_id] = ingest(
        tenant,
        chat(
            "ticket_32",
            "+15550000032",
            message("c1", "2025-11-21T18:27:44Z", content="Unable to login to dashboard"),
            message(
                "c2",
                "2025-11-21T18:35:22Z",
                content="It says 'Invalid credentials' but I'm sure my password is correct.",
            ),
            message(
                "c3",
                "2025-11-21T18:57:44Z",
                content="Got it! Just reset my password and now I can login. Thank you so much!",
            ),
            name="John Smith",
        ),
    )
    agent = add_agent(admin, tenant, "Admin User")
    add_message(
        admin,
        tenant,
        conversation_id,
        "2025-11-21T18:30:15Z",
        author_user_id=agent,
        content="Thank you for contacting us. Can you please provide more details about the error you're seeing?",
    )
    add_message(
        admin,
        tenant,
        conversation_id,
        "2025-11-21T18:40:00Z",
        author_user_id=agent,
        content="I see. Let me help you reset your password. I'll send you a reset link to your email.",
    )
    contact = admin.execute("SELECT contact_id FROM conversations WHERE id = %s", (conversation_id,)).fetchone()[0]
    return conversation_id, str(contact), str(agent)


class TestTheDocumentsExample:
    def test_default_request_answers_the_documented_shape(self, tenant, seed_example):
        conversation_id, contact_id, agent_id = seed_example

        status, body = agent_messages(tenant, conversation_id)

        assert status == 200
        assert body["success"] is True
        data = body["data"]
        assert {key: data[key] for key in ("conversation_id", "page", "limit", "total", "total_pages")} == {
            "conversation_id": conversation_id,
            "page": 1,
            "limit": 50,
            "total": 5,
            "total_pages": 1,
        }
        customer = {"id": contact_id, "name": "John Smith", "type": "customer", "avatar_url": None, "initials": "JS"}
        agent = {"id": agent_id, "name": "Admin User", "type": "agent", "avatar_url": None, "initials": "AU"}
        expected = [
            ("Unable to login to dashboard", "2025-11-21T18:27:44Z", customer),
            (
                "Thank you for contacting us. Can you please provide more details about the error you're seeing?",
                "2025-11-21T18:30:15Z",
                agent,
            ),
            ("It says 'Invalid credentials' but I'm sure my password is correct.", "2025-11-21T18:35:22Z", customer),
            (
                "I see. Let me help you reset your password. I'll send you a reset link to your email.",
                "2025-11-21T18:40:00Z",
                agent,
            ),
            (
                "Got it! Just reset my password and now I can login. Thank you so much!",
                "2025-11-21T18:57:44Z",
                customer,
            ),
        ]
        assert [
            {key: item[key] for key in ("body", "created_at", "author", "is_agent", "is_system_message", "attachments")}
            for item in data["messages"]
        ] == [
            {
                "body": text,
                "created_at": at,
                "author": author,
                "is_agent": author["type"] == "agent",
                "is_system_message": False,
                "attachments": [],
            }
            for text, at, author in expected
        ]
        # The document's fields, is_private (issue 10's private notes), false for every message here, and what Meta
        # charged (pricing, billing_conversation: null for a customer's message).
        assert set(data["messages"][0]) == {
            "id",
            "body",
            "is_agent",
            "is_system_message",
            "is_private",
            "created_at",
            "author",
            "attachments",
            "pricing",
            "billing_conversation",
            # WhatsApp's own, added beside the document's fields (docs/agent-messages-api.md).
            "edited_at",
            "deleted_at",
            "reactions",
            "reply_to",
            "forwarded",
            "frequently_forwarded",
            "details",
            "referral",
        }
        assert [item["is_private"] for item in data["messages"]] == [False] * len(expected)

    def test_order_desc_is_newest_first(self, tenant, seed_example):
        conversation_id, *_ = seed_example

        ascending = agent_messages(tenant, conversation_id)[1]["data"]["messages"]
        descending = agent_messages(tenant, conversation_id, order="desc")[1]["data"]["messages"]

        assert [item["id"] for item in descending] == [item["id"] for item in reversed(ascending)]
        assert descending[0]["created_at"] == "2025-11-21T18:57:44Z"

    def test_a_system_message_is_authored_by_system(self, tenant, admin, seed_example):
        conversation_id, *_ = seed_example
        add_message(
            admin,
            tenant,
            conversation_id,
            "2025-11-21T19:00:00Z",
            is_system=True,
            content="Ticket closed automatically",
        )

        last = agent_messages(tenant, conversation_id, order="desc")[1]["data"]["messages"][0]

        assert last["is_system_message"] is True and last["is_agent"] is False
        assert last["author"] == {
            "id": "system",
            "name": "System",
            "type": "system",
            "avatar_url": None,
            "initials": "S",
        }

    def test_a_message_with_media_lists_its_attachment(self, tenant, admin, seed_example):
        conversation_id, *_ = seed_example
        add_message(
            admin,
            tenant,
            conversation_id,
            "2025-11-21T19:00:00Z",
            direction="inbound",
            type="image",
            content="screenshot",
            media_url="https://media.example.com/screens/login-error.png",
            media_size_bytes=20480,
        )

        last = agent_messages(tenant, conversation_id, order="desc")[1]["data"]["messages"][0]

        assert last["attachments"] == [
            {
                "id": last["id"],
                "name": "login-error.png",
                "size": 20480,
                "type": "image/png",
                "url": "https://media.example.com/screens/login-error.png",
                "created_at": "2025-11-21T19:00:00Z",
                **AS_GIVEN,
            }
        ]


class TestPagination:
    @pytest.fixture
    def seven_messages(self, tenant):
        [conversation_id] = ingest(
            tenant,
            chat(
                "seven",
                "+15550000007",
                *[message(f"m{i}", f"2026-02-01T10:0{i}:00Z", content=str(i)) for i in range(7)],
            ),
        )
        return conversation_id

    @pytest.mark.parametrize("order", ["asc", "desc"])
    @pytest.mark.parametrize("limit", [1, 2, 3, 4, 6, 7, 8])
    def test_every_page_of_every_size_in_both_orders(self, tenant, seven_messages, order, limit):
        everything = [str(i) for i in range(7)]
        if order == "desc":
            everything.reverse()
        total_pages = math.ceil(7 / limit)

        for page in range(1, total_pages + 2):
            status, body = agent_messages(tenant, seven_messages, page=str(page), limit=str(limit), order=order)
            assert status == 200
            data = body["data"]
            assert (data["page"], data["limit"], data["total"], data["total_pages"]) == (page, limit, 7, total_pages)
            assert [item["body"] for item in data["messages"]] == everything[(page - 1) * limit : page * limit]

    def test_an_empty_conversation_has_no_pages(self, tenant):
        [conversation_id] = ingest(tenant, chat("empty", "+15550000001"))

        assert agent_messages(tenant, conversation_id) == (
            200,
            {
                "success": True,
                "data": {
                    "conversation_id": conversation_id,
                    "page": 1,
                    "limit": 50,
                    "total": 0,
                    "total_pages": 0,
                    "messages": [],
                },
            },
        )


def invalid(details: str) -> tuple[int, dict]:
    return 400, {
        "success": False,
        "error": {"code": "INVALID_PARAMETERS", "message": "Invalid request parameters", "details": details},
    }


class TestErrors:
    @pytest.mark.parametrize(
        ("query", "details"),
        [
            ({"limit": "0"}, "Limit must be between 1 and 100"),
            ({"limit": "101"}, "Limit must be between 1 and 100"),
            ({"limit": "abc"}, "Limit must be between 1 and 100"),
            ({"page": "0"}, "Page must be an integer between 1 and 10000000"),
            ({"page": "-2"}, "Page must be an integer between 1 and 10000000"),
            ({"page": "first"}, "Page must be an integer between 1 and 10000000"),
            ({"page": "99999999999"}, "Page must be an integer between 1 and 10000000"),
            ({"order": "newest"}, "Order must be 'asc' or 'desc'"),
            ({"order": "ASC"}, "Order must be 'asc' or 'desc'"),
        ],
    )
    def test_invalid_parameters(self, tenant, seed_example, query, details):
        conversation_id, *_ = seed_example
        assert agent_messages(tenant, conversation_id, **query) == invalid(details)

    @pytest.mark.parametrize("raw_id", ["abc", "0", "3.0"])
    def test_an_invalid_conversation_id(self, tenant, raw_id):
        assert agent_messages(tenant, raw_id) == invalid("Conversation ID must be a positive integer")

    def test_a_missing_conversation(self, tenant):
        assert agent_messages(tenant, 424242424242) == (
            404,
            {
                "success": False,
                "error": {
                    "code": "NOT_FOUND",
                    "message": "Conversation not found",
                    "details": "No conversation exists with ID 424242424242",
                },
            },
        )

    def test_another_tenants_conversation_is_not_found_and_leaks_nothing(self, tenant, other_tenant, seed_example):
        conversation_id, *_ = seed_example

        status, body = agent_messages(other_tenant, conversation_id)

        assert status == 404
        assert body == {
            "success": False,
            "error": {
                "code": "NOT_FOUND",
                "message": "Conversation not found",
                "details": f"No conversation exists with ID {conversation_id}",
            },
        }

    def test_a_token_without_a_tenant_is_unauthorized(self, tenant, seed_example):
        conversation_id, *_ = seed_example
        claims = {key: value for key, value in tenant.claims.items() if key != "tenant_id"}

        assert call("agent_messages", claims=claims, path_id=conversation_id) == (
            401,
            {
                "success": False,
                "error": {
                    "code": "UNAUTHORIZED",
                    "message": "Authentication required",
                    "details": "Valid access token required",
                },
            },
        )

    def test_a_database_that_is_down_is_a_database_error(self, tenant, seed_example, monkeypatch):
        from threadline.config import get_settings
        from threadline.db.connection import discard_app_connection

        conversation_id, *_ = seed_example
        discard_app_connection()
        monkeypatch.setenv("DATABASE_URL", "host=127.0.0.1 port=1 dbname=nowhere connect_timeout=1")
        get_settings.cache_clear()
        try:
            answer = agent_messages(tenant, conversation_id)
        finally:
            monkeypatch.undo()
            get_settings.cache_clear()
            discard_app_connection()

        assert answer == (
            500,
            {
                "success": False,
                "error": {
                    "code": "DATABASE_ERROR",
                    "message": "Failed to retrieve messages",
                    "details": "Internal server error",
                },
            },
        )
