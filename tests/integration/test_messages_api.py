"""GET /api/v1/conversations/{id}/messages (and /v1/...): newest first, `before` cursor, plain errors."""

from __future__ import annotations

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


def conversation_with(tenant, count: int, external_id: str = "chat") -> int:
    [conversation_id] = ingest(
        tenant,
        chat(
            external_id,
            "+15550000001",
            *[message(f"m{i}", f"2026-02-01T10:{i:02d}:00Z", content=f"message {i}") for i in range(count)],
            name="Jane Doe",
        ),
    )
    return conversation_id


def walk(tenant, conversation_id: int, limit: int) -> tuple[list[list[str]], list[dict]]:
    """Every page's contents, following next_cursor; and the last answer."""
    pages, before, answers = [], None, []
    while True:
        query = {"limit": str(limit)} | ({"before": before} if before else {})
        status, body = call("list_messages", claims=tenant.claims, path_id=conversation_id, query=query)
        assert status == 200, body
        answers.append(body)
        pages.append([item["content"] for item in body["messages"]])
        before = body["next_cursor"]
        if before is None:
            return pages, answers


class TestPages:
    @pytest.mark.parametrize("route", ["list_messages", "list_messages_v1"])
    def test_newest_first_with_total(self, tenant, route):
        conversation_id = conversation_with(tenant, 3)

        status, body = call(route, claims=tenant.claims, path_id=conversation_id)

        assert status == 200
        assert [item["content"] for item in body["messages"]] == ["message 2", "message 1", "message 0"]
        assert (body["conversation_id"], body["total"], body["limit"], body["next_cursor"]) == (
            conversation_id,
            3,
            50,
            None,
        )
        newest = body["messages"][0]
        assert newest | {"id": 0, "author": None} == {
            "id": 0,
            "direction": "inbound",
            "type": "text",
            "content": "message 2",
            "status": "received",
            "sent_at": "2026-02-01T10:02:00Z",
            "is_system": False,
            "private": False,
            "author": None,
            "attachments": [],
            "error": None,
            "pricing": None,
            "billing_conversation": None,
            "edited_at": None,
            "deleted_at": None,
            "reactions": [],
            # WhatsApp's own: what it quotes, forwarding, typed data and the ad (none for a connector's text).
            "reply_to": None,
            "forwarded": False,
            "frequently_forwarded": False,
            "details": None,
            "referral": None,
        }

    def test_before_walks_to_the_oldest_message_and_the_exact_last_page_ends_it(self, tenant):
        conversation_id = conversation_with(tenant, 6)

        pages, answers = walk(tenant, conversation_id, limit=3)

        assert pages == [["message 5", "message 4", "message 3"], ["message 2", "message 1", "message 0"]]
        assert answers[-1]["next_cursor"] is None

    def test_messages_at_the_same_instant_are_neither_lost_nor_repeated(self, tenant, admin):
        conversation_id = conversation_with(tenant, 2)
        for _ in range(4):
            add_message(admin, tenant, conversation_id, "2026-02-01T10:00:30Z", content="same instant")

        pages, _ = walk(tenant, conversation_id, limit=2)

        flat = [content for page in pages for content in page]
        assert flat == ["message 1", *["same instant"] * 4, "message 0"]
        assert [len(page) for page in pages] == [2, 2, 2]

    def test_an_empty_conversation(self, tenant):
        [conversation_id] = ingest(tenant, chat("empty", "+15550000001"))

        assert call("list_messages", claims=tenant.claims, path_id=conversation_id) == (
            200,
            {"conversation_id": conversation_id, "total": 0, "limit": 50, "messages": [], "next_cursor": None},
        )


class TestAuthorsAndMedia:
    def test_customer_agent_business_and_system_authors(self, tenant, admin):
        conversation_id = conversation_with(tenant, 1)
        agent = add_agent(admin, tenant, "Admin User", avatar_url="https://cdn.example.com/au.png")
        add_message(admin, tenant, conversation_id, "2026-02-01T11:00:00Z", author_user_id=agent)
        ingest(tenant, chat("chat", "+15550000001", message("phone", "2026-02-01T12:00:00Z", direction="outbound")))
        add_message(admin, tenant, conversation_id, "2026-02-01T13:00:00Z", is_system=True, content="Chat assigned")
        tenant_name = admin.execute("SELECT name FROM tenants WHERE id = %s", (tenant.id,)).fetchone()[0]
        contact_id = admin.execute("SELECT contact_id FROM conversations WHERE id = %s", (conversation_id,)).fetchone()[
            0
        ]

        body = call("list_messages", claims=tenant.claims, path_id=conversation_id)[1]

        system, business, by_agent, customer = (item["author"] for item in body["messages"])
        assert system == {"id": "system", "name": "System", "type": "system", "avatar_url": None, "initials": "S"}
        assert business == {
            "id": str(tenant.id),
            "name": tenant_name,
            "type": "agent",
            "avatar_url": None,
            "initials": business["initials"],
        }
        assert by_agent == {
            "id": str(agent),
            "name": "Admin User",
            "type": "agent",
            "avatar_url": "https://cdn.example.com/au.png",
            "initials": "AU",
        }
        assert customer == {
            "id": str(contact_id),
            "name": "Jane Doe",
            "type": "customer",
            "avatar_url": None,
            "initials": "JD",
        }

    def test_media_is_listed_as_an_attachment(self, tenant, admin):
        [conversation_id] = ingest(
            tenant,
            chat(
                "media",
                "+15550000001",
                message(
                    "img",
                    "2026-02-01T10:00:00Z",
                    type="image",
                    content="Product photo",
                    media_url="https://media.example.com/photos/red%20shoe.JPG?sig=abc",
                ),
            ),
        )
        add_message(
            admin,
            tenant,
            conversation_id,
            "2026-02-01T10:05:00Z",
            type="file",
            content="Your invoice",
            media_url="https://media.example.com/f/7f3a",
            media_mime_type="application/pdf",
            media_filename="invoice-42.pdf",
            media_size_bytes=48213,
        )
        add_message(
            admin, tenant, conversation_id, "2026-02-01T10:06:00Z", type="audio", media_url="https://m.example.com/"
        )

        unnamed, invoice, photo = call("list_messages", claims=tenant.claims, path_id=conversation_id)[1]["messages"]

        assert photo["attachments"] == [
            {
                "id": photo["id"],
                "name": "red shoe.JPG",
                "size": None,
                "type": "image/jpeg",
                "url": "https://media.example.com/photos/red%20shoe.JPG?sig=abc",
                "created_at": "2026-02-01T10:00:00Z",
                **AS_GIVEN,
            }
        ]
        assert invoice["attachments"] == [
            {
                "id": invoice["id"],
                "name": "invoice-42.pdf",
                "size": 48213,
                "type": "application/pdf",
                "url": "https://media.example.com/f/7f3a",
                "created_at": "2026-02-01T10:05:00Z",
                **AS_GIVEN,
            }
        ]
        assert unnamed["attachments"][0]["name"] == f"audio-{unnamed['id']}"
        assert unnamed["attachments"][0]["type"] == "application/octet-stream"

    def test_a_failed_send_carries_its_error(self, tenant, admin):
        conversation_id = conversation_with(tenant, 1)
        add_message(
            admin,
            tenant,
            conversation_id,
            "2026-02-01T11:00:00Z",
            status="failed",
            error_code=131047,
            error_title="Re-engagement message",
            error_details="More than 24 hours have passed",
        )

        failed = call("list_messages", claims=tenant.claims, path_id=conversation_id)[1]["messages"][0]

        assert failed["status"] == "failed"
        assert failed["error"] == {
            "code": 131047,
            "title": "Re-engagement message",
            "details": "More than 24 hours have passed",
        }


class TestRefusals:
    @pytest.mark.parametrize(
        ("query", "error"),
        [
            ({"limit": "0"}, "limit must be an integer between 1 and 100"),
            ({"limit": "101"}, "limit must be an integer between 1 and 100"),
            ({"limit": "ten"}, "limit must be an integer between 1 and 100"),
            ({"before": ""}, "before is not valid; use next_cursor from the previous page"),
            ({"before": "garbage!"}, "before is not valid for this conversation (not a cursor)"),
        ],
    )
    def test_malformed_queries_are_400s(self, tenant, query, error):
        conversation_id = conversation_with(tenant, 1)
        assert call("list_messages", claims=tenant.claims, path_id=conversation_id, query=query) == (
            400,
            {"error": error},
        )

    def test_a_cursor_of_another_conversation_is_refused(self, tenant):
        first = conversation_with(tenant, 3, "first")
        second = conversation_with(tenant, 3, "second")
        cursor = call("list_messages", claims=tenant.claims, path_id=first, query={"limit": "1"})[1]["next_cursor"]

        assert call("list_messages", claims=tenant.claims, path_id=second, query={"before": cursor}) == (
            400,
            {"error": "before is not valid for this conversation (belongs to another list)"},
        )

    def test_a_conversation_list_cursor_is_no_message_cursor(self, tenant):
        conversation_id = conversation_with(tenant, 2)
        ingest(tenant, chat("other", "+15550000002", message("o", "2026-02-01T09:00:00Z")))
        list_cursor = call("list_conversations", claims=tenant.claims, query={"limit": "1"})[1]["next_cursor"]

        status, _ = call("list_messages", claims=tenant.claims, path_id=conversation_id, query={"before": list_cursor})

        assert status == 400

    @pytest.mark.parametrize("raw_id", ["abc", "0", "12a"])
    def test_a_malformed_conversation_id_is_a_400(self, tenant, raw_id):
        assert call("list_messages", claims=tenant.claims, path_id=raw_id) == (
            400,
            {"error": "conversation id must be a positive integer"},
        )

    @pytest.mark.parametrize("route", ["list_messages", "list_messages_v1"])
    def test_another_tenants_conversation_is_a_404_like_a_missing_one(self, tenant, other_tenant, route):
        conversation_id = conversation_with(tenant, 2)

        theirs = call(route, claims=other_tenant.claims, path_id=conversation_id)

        assert theirs == (404, {"error": "Conversation not found"})
        assert theirs == call(route, claims=other_tenant.claims, path_id=2**62)
        assert call(route, claims=tenant.claims, path_id=conversation_id)[0] == 200

    def test_a_token_without_a_tenant_claim_is_a_401(self, tenant):
        conversation_id = conversation_with(tenant, 1)
        claims = {key: value for key, value in tenant.claims.items() if key != "tenant_id"}

        assert call("list_messages", claims=claims, path_id=conversation_id) == (401, {"error": "Unauthorized"})


class TestCounters:
    def test_total_stays_exact_when_a_message_is_erased(self, tenant, admin):
        conversation_id = conversation_with(tenant, 3)
        admin.execute("DELETE FROM messages WHERE conversation_id = %s AND external_id = 'm1'", (conversation_id,))

        body = call("list_messages", claims=tenant.claims, path_id=conversation_id)[1]

        assert body["total"] == 2 and [item["content"] for item in body["messages"]] == ["message 2", "message 0"]
        detail = call("get_conversation", claims=tenant.claims, path_id=conversation_id)[1]
        assert (detail["message_count"], detail["unread_count"]) == (2, 2)

    def test_a_retried_ingest_counts_nothing_twice(self, tenant):
        conversation_id = conversation_with(tenant, 3)
        conversation_with(tenant, 3)

        assert call("list_messages", claims=tenant.claims, path_id=conversation_id)[1]["total"] == 3
