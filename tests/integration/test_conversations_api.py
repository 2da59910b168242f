"""GET /api/v1/conversations and /api/v1/conversations/{id} (and their /v1 twins) through the real handler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.ingest import message
from tests.support.read import add_message, call, chat, ingest, make_tenant


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def tenant(make_connector):
    return make_tenant(make_connector)


@pytest.fixture
def other_tenant(make_connector):
    return make_tenant(make_connector)


def three_conversations(tenant) -> list[int]:
    """Ids of chat_a (oldest activity), chat_b, chat_c (newest)."""
    return ingest(
        tenant,
        chat("chat_a", "+15550000001", message("a1", "2026-02-01T08:00:00Z"), name="Ann Archer"),
        chat("chat_b", "+15550000002", message("b1", "2026-02-01T09:00:00Z"), name="Ben Brown"),
        chat("chat_c", "+15550000003", message("c1", "2026-02-01T10:00:00Z", content="x" * 150)),
    )


class TestList:
    @pytest.mark.parametrize("route", ["list_conversations", "list_conversations_v1"])
    def test_newest_activity_first_with_contact_preview_and_total(self, tenant, route):
        chat_a, chat_b, chat_c = three_conversations(tenant)

        status, body = call(route, claims=tenant.claims)

        assert status == 200
        assert [item["id"] for item in body["conversations"]] == [chat_c, chat_b, chat_a]
        assert (body["total"], body["total_is_exact"], body["limit"], body["offset"]) == (3, True, 20, 0)
        assert body["next_cursor"] is None
        newest, middle = body["conversations"][0], body["conversations"][1]
        assert newest["last_message_preview"] == "x" * 100
        assert newest["last_message_at"] == "2026-02-01T10:00:00Z"
        assert newest["platform"] == "whatsapp" and newest["status"] == "open"
        assert newest["contact"]["name"] is None and newest["contact"]["identifier"] == "+15550000003"
        assert set(middle["contact"]) == {"id", "name", "identifier", "avatar_url"}
        assert middle["contact"]["name"] == "Ben Brown"

    def test_workspace_chat_sessions_are_not_inbox_conversations(self, tenant, admin):
        from tests.support.sessions import capture, make_session

        (chat_a,) = ingest(tenant, chat("chat_a", "+15550000001", message("a1", "2026-02-01T08:00:00Z")))
        session = make_session(admin, tenant.id)
        assert capture("user", session, {"message": "Hello"})[0] == 200

        status, body = call("list_conversations", claims=tenant.claims)

        assert status == 200
        assert [item["id"] for item in body["conversations"]] == [chat_a] and body["total"] == 1

    def test_a_cursor_walks_every_conversation_once_including_those_without_messages(self, tenant, admin):
        dated = ingest(
            tenant,
            *[chat(f"chat_{i}", f"+1555000{i:04d}", message(f"m{i}", f"2026-02-01T10:{i:02d}:00Z")) for i in range(7)],
        )
        # Same instant: the id breaks the tie.
        tied = ingest(tenant, chat("tied", "+15559990000", message("t", "2026-02-01T10:03:00Z")))
        undated = ingest(tenant, chat("empty_1", "+15558880001"), chat("empty_2", "+15558880002"))
        expected = [*reversed(dated[4:]), *sorted([dated[3], *tied], reverse=True), *reversed(dated[:3])]
        expected += sorted(undated, reverse=True)

        seen, cursor, pages = [], None, 0
        while True:
            query = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
            status, body = call("list_conversations", claims=tenant.claims, query=query)
            assert status == 200, body
            assert body["total"] == 10
            seen += [item["id"] for item in body["conversations"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == expected
        assert pages == 4
        last_item = call("list_conversations", claims=tenant.claims, query={"limit": "10"})[1]["conversations"][-1]
        assert last_item["last_message_at"] is None and last_item["last_message_preview"] is None

    def test_offset_pages_agree_with_cursor_pages(self, tenant):
        three_conversations(tenant)
        everything = [item["id"] for item in call("list_conversations", claims=tenant.claims)[1]["conversations"]]

        first = call("list_conversations", claims=tenant.claims, query={"limit": "2"})[1]
        by_offset = call("list_conversations", claims=tenant.claims, query={"limit": "2", "offset": "2"})[1]
        by_cursor = call(
            "list_conversations", claims=tenant.claims, query={"limit": "2", "cursor": first["next_cursor"]}
        )[1]
        past_the_end = call("list_conversations", claims=tenant.claims, query={"offset": "3"})[1]

        assert [item["id"] for item in by_offset["conversations"]] == everything[2:]
        assert by_cursor["conversations"] == by_offset["conversations"]
        assert by_offset["next_cursor"] is None and by_cursor["next_cursor"] is None
        assert past_the_end["conversations"] == [] and past_the_end["total"] == 3

    def test_a_tenant_without_conversations_gets_an_empty_page(self, tenant):
        assert call("list_conversations", claims=tenant.claims) == (
            200,
            {"conversations": [], "total": 0, "total_is_exact": True, "limit": 20, "offset": 0, "next_cursor": None},
        )

    def test_status_filter(self, tenant, admin):
        chat_a, chat_b, chat_c = three_conversations(tenant)
        admin.execute("UPDATE conversations SET status = 'resolved' WHERE id = ANY(%s)", ([chat_a, chat_c],))

        resolved = call("list_conversations", claims=tenant.claims, query={"status": "resolved"})[1]
        still_open = call("list_conversations", claims=tenant.claims, query={"status": "open"})[1]

        assert [item["id"] for item in resolved["conversations"]] == [chat_c, chat_a] and resolved["total"] == 2
        assert [item["id"] for item in still_open["conversations"]] == [chat_b] and still_open["total"] == 1

    def test_a_capped_total_says_it_is_not_exact(self, tenant, monkeypatch):
        import threadline.domain.inbox.conversations as conversations_domain

        three_conversations(tenant)
        monkeypatch.setattr(conversations_domain, "TOTAL_COUNT_CAP", 2)

        body = call("list_conversations", claims=tenant.claims)[1]

        assert (body["total"], body["total_is_exact"], len(body["conversations"])) == (2, False, 3)


class TestLocations:
    def test_conversations_follow_their_connection_into_a_location(self, tenant, make_connector, admin):
        from threadline.domain.intake.locations import create_location

        second_connector = make_connector("whatsapp", tenant_id=tenant.id)
        in_shop = ingest(tenant, chat("shop", "+15550000001", message("s", "2026-02-01T09:00:00Z")))
        elsewhere = ingest(
            tenant, chat("other", "+15550000002", message("o", "2026-02-01T10:00:00Z")), connector=second_connector
        )
        shop = create_location(admin, tenant_id=tenant.id, name="Shop", connection_ids=[tenant.connector.connection_id])
        # Conversations that arrive after the move belong to the location too.
        later = ingest(tenant, chat("later", "+15550000003", message("l", "2026-02-01T11:00:00Z")))

        body = call("list_conversations", claims=tenant.claims, query={"location_id": str(shop.id)})[1]
        unfiltered = call("list_conversations", claims=tenant.claims)[1]

        assert [item["id"] for item in body["conversations"]] == [*later, *in_shop] and body["total"] == 2
        assert all(item["location_id"] == str(shop.id) for item in body["conversations"])
        assert {item["id"]: item["location_id"] for item in unfiltered["conversations"]}[elsewhere[0]] is None

    def test_location_and_status_together(self, tenant, admin):
        from threadline.domain.intake.locations import create_location

        chat_a, chat_b, _ = three_conversations(tenant)
        shop = create_location(admin, tenant_id=tenant.id, name="Shop", connection_ids=[tenant.connector.connection_id])
        admin.execute("UPDATE conversations SET status = 'pending' WHERE id = ANY(%s)", ([chat_a, chat_b],))

        body = call(
            "list_conversations", claims=tenant.claims, query={"location_id": str(shop.id), "status": "pending"}
        )[1]

        assert [item["id"] for item in body["conversations"]] == [chat_b, chat_a] and body["total"] == 2

    def test_moving_or_deleting_a_location_moves_its_conversations(self, tenant, admin):
        from threadline.domain.intake.locations import create_location

        [conversation_id] = ingest(tenant, chat("c", "+15550000001", message("m", "2026-02-01T09:00:00Z")))
        first = create_location(
            admin, tenant_id=tenant.id, name="First", connection_ids=[tenant.connector.connection_id]
        )
        second = create_location(admin, tenant_id=tenant.id, name="Second")
        admin.execute(
            "UPDATE connections SET location_id = %s WHERE connection_id = %s",
            (second.id, tenant.connector.connection_id),
        )
        assert call("get_conversation", claims=tenant.claims, path_id=conversation_id)[1]["location"] == {
            "id": str(second.id),
            "name": "Second",
        }
        assert call("list_conversations", claims=tenant.claims, query={"location_id": str(first.id)})[1]["total"] == 0

        admin.execute("DELETE FROM locations WHERE id = %s", (second.id,))

        assert call("get_conversation", claims=tenant.claims, path_id=conversation_id)[1]["location_id"] is None


class TestWindowAndUnread:
    def test_the_window_is_the_contacts_open_until_24_hours_after_their_last_message(self, tenant):
        recent = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        fresh, stale = ingest(
            tenant,
            chat("fresh", "+15550000001", message("f", iso(recent))),
            chat("stale", "+15550000002", message("s", "2026-01-01T10:00:00Z")),
        )
        [never_wrote] = ingest(tenant, chat("quiet", "+15550000003", message("q", iso(recent), direction="outbound")))

        windows = {
            item["id"]: item["window"] for item in call("list_conversations", claims=tenant.claims)[1]["conversations"]
        }

        assert windows[fresh] == {"status": "open", "expires_at": iso(recent + timedelta(hours=24))}
        assert windows[stale] == {"status": "expired", "expires_at": "2026-01-02T10:00:00Z"}
        assert windows[never_wrote] == {"status": "expired", "expires_at": None}

    def test_unread_counts_inbound_messages_since_the_last_reply(self, tenant, admin):
        [conversation_id] = ingest(
            tenant,
            chat(
                "c",
                "+15550000001",
                message("in1", "2026-02-01T09:00:00Z"),
                message("in2", "2026-02-01T09:01:00Z"),
                message("out1", "2026-02-01T09:02:00Z", direction="outbound"),
                message("in3", "2026-02-01T09:03:00Z"),
            ),
        )

        def unread() -> int:
            return call("get_conversation", claims=tenant.claims, path_id=conversation_id)[1]["unread_count"]

        assert unread() == 1
        ingest(tenant, chat("c", "+15550000001", message("in4", "2026-02-01T09:04:00Z")))
        add_message(admin, tenant, conversation_id, "2026-02-01T09:00:30Z", is_system=True, direction="inbound")
        assert unread() == 2
        # A reply (from Threadline or synced from the phone) reads everything before it.
        add_message(admin, tenant, conversation_id, "2026-02-01T09:05:00Z")
        assert unread() == 0
        # A late-synced older reply moves nothing backwards.
        ingest(tenant, chat("c", "+15550000001", message("old_out", "2026-02-01T08:00:00Z", direction="outbound")))
        ingest(tenant, chat("c", "+15550000001", message("in5", "2026-02-01T09:06:00Z")))
        assert unread() == 1
        listed = call("list_conversations", claims=tenant.claims)[1]["conversations"][0]
        assert listed["unread_count"] == 1


class TestOneConversation:
    @pytest.mark.parametrize("route", ["get_conversation", "get_conversation_v1"])
    def test_contact_channel_location_and_counts(self, tenant, admin, route):
        from threadline.domain.intake.locations import create_location

        shop = create_location(admin, tenant_id=tenant.id, name="Shop", connection_ids=[tenant.connector.connection_id])
        [conversation_id] = ingest(
            tenant,
            chat(
                "chat_1",
                "+15550000001",
                message("m1", "2026-02-01T09:00:00Z"),
                message("m2", "2026-02-01T09:01:00Z"),
                name="Ann Archer",
            ),
        )

        status, body = call(route, claims=tenant.claims, path_id=conversation_id)

        assert status == 200
        assert body["id"] == conversation_id and body["external_conversation_id"] == "chat_1"
        assert body["contact"]["name"] == "Ann Archer" and body["contact"]["identifier"] == "+15550000001"
        assert body["channel"] == {
            "connection_id": tenant.connector.connection_id,
            "platform": "whatsapp",
            "phone_number_id": None,
            "is_active": True,
        }
        assert body["location"] == {"id": str(shop.id), "name": "Shop"}
        assert (body["message_count"], body["unread_count"]) == (2, 2)
        assert "api_secret_sha256" not in str(body)

    @pytest.mark.parametrize("raw_id", ["abc", "0", "-1", "1.5", "99999999999999999999", "1e3", " 1"])
    def test_an_id_that_is_not_a_positive_integer_is_a_400(self, tenant, raw_id):
        assert call("get_conversation", claims=tenant.claims, path_id=raw_id) == (
            400,
            {"error": "conversation id must be a positive integer"},
        )

    def test_an_unknown_id_is_a_404(self, tenant):
        assert call("get_conversation", claims=tenant.claims, path_id=2**62) == (
            404,
            {"error": "Conversation not found"},
        )


class TestTenantIsolation:
    def test_another_tenants_conversations_are_invisible_in_lists_and_totals(self, tenant, other_tenant):
        three_conversations(tenant)
        ingest(other_tenant, chat("theirs", "+15550000009", message("t", "2026-02-01T12:00:00Z")))

        mine = call("list_conversations", claims=tenant.claims)[1]
        theirs = call("list_conversations", claims=other_tenant.claims)[1]

        assert mine["total"] == 3 and theirs["total"] == 1
        assert not {item["id"] for item in mine["conversations"]} & {item["id"] for item in theirs["conversations"]}
        assert "+15550000001" not in str(theirs)

    @pytest.mark.parametrize("route", ["get_conversation", "get_conversation_v1"])
    def test_another_tenants_conversation_is_a_404_exactly_like_a_missing_one(self, tenant, other_tenant, route):
        [chat_a, *_] = three_conversations(tenant)

        assert call(route, claims=other_tenant.claims, path_id=chat_a) == call(
            route, claims=other_tenant.claims, path_id=2**62
        )
        assert call(route, claims=other_tenant.claims, path_id=chat_a) == (404, {"error": "Conversation not found"})

    def test_filtering_by_another_tenants_location_finds_nothing(self, tenant, other_tenant, admin):
        from threadline.domain.intake.locations import create_location

        three_conversations(tenant)
        shop = create_location(admin, tenant_id=tenant.id, name="Shop", connection_ids=[tenant.connector.connection_id])

        body = call("list_conversations", claims=other_tenant.claims, query={"location_id": str(shop.id)})[1]

        assert body["conversations"] == [] and body["total"] == 0

    def test_a_cursor_from_another_tenant_pages_only_the_callers_rows(self, tenant, other_tenant):
        three_conversations(tenant)
        ingest(other_tenant, chat("theirs", "+15550000009", message("t", "2026-02-01T07:00:00Z")))
        their_cursor = call("list_conversations", claims=tenant.claims, query={"limit": "1"})[1]["next_cursor"]

        body = call("list_conversations", claims=other_tenant.claims, query={"cursor": their_cursor})[1]

        assert [item["contact"]["identifier"] for item in body["conversations"]] == ["+15550000009"]

    @pytest.mark.parametrize("route", ["list_conversations", "get_conversation"])
    def test_a_token_without_a_tenant_claim_is_a_401(self, tenant, route):
        claims = {key: value for key, value in tenant.claims.items() if key != "tenant_id"}
        assert call(route, claims=claims, path_id=1 if route == "get_conversation" else None) == (
            401,
            {"error": "Unauthorized"},
        )
        assert call(route, claims=None, path_id=1 if route == "get_conversation" else None)[0] == 401


class TestMalformedQueries:
    @pytest.mark.parametrize(
        ("query", "error"),
        [
            ({"limit": "0"}, "limit must be an integer between 1 and 100"),
            ({"limit": "101"}, "limit must be an integer between 1 and 100"),
            ({"limit": "abc"}, "limit must be an integer between 1 and 100"),
            ({"limit": ""}, "limit must be an integer between 1 and 100"),
            ({"limit": "5,6"}, "limit must be an integer between 1 and 100"),
            ({"offset": "-1"}, "offset must be an integer between 0 and 1,000,000; use cursor for deeper pages"),
            ({"offset": "1" * 30}, "offset must be an integer between 0 and 1,000,000; use cursor for deeper pages"),
            (
                {"status": "archived"},
                "status must be one of open, pending, snoozed, resolved (or a comma list of them)",
            ),
            ({"location_id": "shop-1"}, "location_id must be a UUID"),
            ({"cursor": "x" * 600}, "cursor is not valid; use next_cursor from the previous page"),
            (
                {"cursor": "bm90IGEgY3Vyc29y"},
                "cursor is not valid for this list (not a cursor); start again without it",
            ),
            ({"cursor": "%%%"}, "cursor is not valid for this list (not a cursor); start again without it"),
            ({"cursor": "abc", "offset": "3"}, "use either cursor or offset, not both"),
        ],
    )
    def test_is_a_400_in_the_plain_shape(self, tenant, query, error):
        three_conversations(tenant)
        assert call("list_conversations", claims=tenant.claims, query=query) == (400, {"error": error})

    def test_a_cursor_from_a_differently_filtered_list_is_refused(self, tenant):
        three_conversations(tenant)
        cursor = call("list_conversations", claims=tenant.claims, query={"limit": "1"})[1]["next_cursor"]

        status, body = call("list_conversations", claims=tenant.claims, query={"cursor": cursor, "status": "open"})

        assert status == 400
        assert body == {"error": "cursor is not valid for this list (belongs to another list); start again without it"}

    def test_unknown_parameters_are_ignored(self, tenant):
        three_conversations(tenant)
        assert call("list_conversations", claims=tenant.claims, query={"order_by": "oldest"})[1]["total"] == 3
