"""Search through the real handler: words and prefixes, accents folded, ranking, private notes, system messages
left out, contacts by name, username and phone digits, cursors, isolation, 400s; and the inbox_counts frame."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.inbox import customer_writes, make_inbox, patch
from tests.support.ingest import message
from tests.support.read import add_agent, add_message, chat, claims_for, ingest, make_tenant
from tests.support.realtime import subscribe
from tests.support.routes import call_route

# Its fixture: moto's WebSocket management API.


def search(claims: dict[str, str], q: str, kind: str = "messages", **extra: str) -> tuple[int, Any]:
    return call_route("GET", "/v1/search", claims=claims, query={"q": q, "type": kind} | extra)


def contents(body: dict[str, Any]) -> list[str]:
    return [result["message"]["content"] for result in body["results"]]


@pytest.fixture
def shop(admin, make_connector):
    tenant = make_tenant(make_connector)
    ids = ingest(
        tenant,
        chat(
            "c1",
            "+15551234567",
            message("a", "2026-02-01T10:00:00Z", content="I want a refund for my order"),
            message("b", "2026-02-01T10:01:00Z", content="Refund refund refund, please: the refund!"),
            message("c", "2026-02-01T10:02:00Z", content="Merci pour le café crème"),
            name="José Álvarez",
        ),
        chat("c2", "@maria_k", message("d", "2026-02-01T11:00:00Z", content="Where is my parcel?"), name="Maria K"),
    )
    agent = add_agent(admin, tenant, "Ana")
    add_message(
        admin,
        tenant,
        ids[1],
        "2026-02-01T11:05:00Z",
        content="parcel lost: refund her",
        is_private=True,
        author_user_id=agent,
        source="note",
    )
    add_message(
        admin,
        tenant,
        ids[0],
        "2026-02-01T11:06:00Z",
        content="Resolved refund by Ana",
        is_system=True,
        source="activity",
    )
    return tenant, ids


class TestMessages:
    def test_words_and_prefixes_any_case(self, shop):
        tenant, _ = shop
        status, body = search(tenant.claims, "REF")
        assert status == 200 and body["type"] == "messages" and body["q"] == "REF"
        assert set(contents(body)) == {
            "I want a refund for my order",
            "Refund refund refund, please: the refund!",
            "parcel lost: refund her",
        }

    def test_ranking_puts_denser_matches_first(self, shop):
        tenant, _ = shop
        _, body = search(tenant.claims, "refund")
        ranks = [result["rank"] for result in body["results"]]
        assert contents(body)[0] == "Refund refund refund, please: the refund!" and ranks == sorted(ranks, reverse=True)

    def test_accents_fold_both_ways(self, shop):
        tenant, _ = shop
        assert contents(search(tenant.claims, "cafe creme")[1]) == ["Merci pour le café crème"]
        assert contents(search(tenant.claims, "CRÈ")[1]) == ["Merci pour le café crème"]

    def test_every_word_is_required(self, shop):
        tenant, _ = shop
        assert contents(search(tenant.claims, "refund order")[1]) == ["I want a refund for my order"]
        assert search(tenant.claims, "refund zeppelin")[1]["results"] == []

    def test_notes_are_found_and_marked_private_and_system_messages_are_not(self, shop):
        tenant, ids = shop
        _, body = search(tenant.claims, "refund")
        by_content = {result["message"]["content"]: result for result in body["results"]}
        note = by_content["parcel lost: refund her"]
        assert note["message"]["private"] is True and note["conversation"]["id"] == ids[1]
        assert by_content["I want a refund for my order"]["message"]["private"] is False
        assert "Resolved refund by Ana" not in by_content

    def test_each_hit_names_its_conversation(self, shop):
        tenant, ids = shop
        _, body = search(tenant.claims, "parcel")
        hit = next(r for r in body["results"] if r["message"]["content"] == "Where is my parcel?")
        assert hit["kind"] == "message" and hit["contact"] is None
        assert hit["conversation"]["id"] == ids[1] and hit["conversation"]["platform"] == "whatsapp"
        assert hit["conversation"]["contact_name"] == "Maria K" and hit["conversation"]["last_message_at"]

    def test_conversations_are_grouped_with_their_best_message(self, shop):
        tenant, ids = shop
        _, body = search(tenant.claims, "refund", "conversations")
        assert [r["conversation"]["id"] for r in body["results"]] == [ids[0], ids[1]]
        assert body["results"][0]["message"]["content"] == "Refund refund refund, please: the refund!"

    def test_the_cursor_pages_through_without_repeats(self, shop):
        tenant, _ = shop
        seen, cursor = [], None
        while True:
            status, body = search(tenant.claims, "refund", limit="1", **({"cursor": cursor} if cursor else {}))
            assert status == 200
            seen += [r["message"]["id"] for r in body["results"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        _, everything = search(tenant.claims, "refund")
        assert seen == [r["message"]["id"] for r in everything["results"]] and len(seen) == 3

    def test_punctuation_only_finds_nothing(self, shop):
        tenant, _ = shop
        assert search(tenant.claims, "?!")[1]["results"] == []
        assert search(tenant.claims, "a & b | !c:*")[0] == 200  # tsquery syntax is never passed through


OKINA = "\u02bb"  # the Hawaiian okina (MODIFIER LETTER TURNED COMMA), which unaccent makes an apostrophe
LENGTH_MARK = "\u02d0"  # MODIFIER LETTER TRIANGULAR COLON, which unaccent makes a colon
# Characters unaccent rewrites into tsquery syntax (½ is " 1/2", ⑴ "(1)", ŉ "'n", and the two above): each was a 500.
UNACCENT_REWRITES = ["size 1½", OKINA, "⑴", f"a{LENGTH_MARK}", "ŉ", "3¼"]


class TestCharactersUnaccentRewrites:
    @pytest.fixture
    def kitchen(self, make_connector):
        tenant = make_tenant(make_connector)
        ingest(
            tenant,
            chat(
                "k1",
                "+15557654321",
                message("s", "2026-02-01T10:00:00Z", content="size 1½ shoes"),
                message("f", "2026-02-01T10:01:00Z", content="add 3¼ cups of flour"),
                message("h", "2026-02-01T10:02:00Z", content=f"Aloha {OKINA}ohana"),
                name=f"Keola {OKINA}Akana",
            ),
        )
        return tenant

    @pytest.mark.parametrize("kind", ["messages", "conversations", "contacts"])
    @pytest.mark.parametrize("q", UNACCENT_REWRITES)
    def test_any_query_is_a_valid_search(self, kitchen, q, kind):
        status, body = search(kitchen.claims, q, kind)
        assert status == 200, body
        assert body["q"] == q and body["type"] == kind

    @pytest.mark.parametrize(
        ("q", "found"),
        [
            ("size", "size 1½ shoes"),
            ("size 1½", "size 1½ shoes"),
            ("1½ shoe", "size 1½ shoes"),
            ("3¼", "add 3¼ cups of flour"),
            ("flour 3¼", "add 3¼ cups of flour"),
            (f"{OKINA}ohana", f"Aloha {OKINA}ohana"),
            ("ohana", f"Aloha {OKINA}ohana"),
        ],
    )
    def test_the_words_are_found_as_the_messages_were_indexed(self, kitchen, q, found):
        for kind in ("messages", "conversations"):
            status, body = search(kitchen.claims, q, kind)
            assert (status, contents(body)) == (200, [found]), (q, kind)

    def test_a_query_of_only_characters_that_fold_to_punctuation_finds_nothing(self, kitchen):
        assert search(kitchen.claims, OKINA)[1]["results"] == []
        assert search(kitchen.claims, f"{OKINA} {LENGTH_MARK}")[1]["results"] == []


class TestContacts:
    def test_by_name_accents_folded(self, shop):
        tenant, ids = shop
        _, body = search(tenant.claims, "jose alv", "contacts")
        assert [r["contact"]["name"] for r in body["results"]] == ["José Álvarez"]
        assert body["results"][0]["kind"] == "contact" and body["results"][0]["conversation"]["id"] == ids[0]

    def test_by_any_part_of_the_phone_however_spelled(self, shop):
        tenant, _ = shop
        for q in ("4567", "555-123", "+1 (555) 1234"):
            _, body = search(tenant.claims, q, "contacts")
            assert [r["contact"]["identifier"] for r in body["results"]] == ["+15551234567"], q

    def test_by_username(self, shop):
        tenant, _ = shop
        _, body = search(tenant.claims, "maria_", "contacts")
        assert [r["contact"]["identifier"] for r in body["results"]] == ["@maria_k"]

    def test_like_wildcards_are_literal(self, shop):
        tenant, _ = shop
        assert search(tenant.claims, "%", "contacts")[1]["results"] == []


class TestIsolationAndInput:
    def test_tenant_b_never_finds_tenant_as_words_or_contacts(self, shop, make_connector):
        other = make_tenant(make_connector)
        ingest(other, chat("x", "+15559990000", message("z", "2026-02-01T10:00:00Z", content="nothing here")))
        for q, kind in (
            ("refund", "messages"),
            ("refund", "conversations"),
            ("jose", "contacts"),
            ("4567", "contacts"),
        ):
            status, body = search(other.claims, q, kind)
            assert status == 200 and body["results"] == [], (q, kind)

    def test_another_tenants_cursor_pages_nothing_of_theirs(self, shop, make_connector):
        tenant, _ = shop
        _, first = search(tenant.claims, "refund", limit="1")
        other = make_tenant(make_connector)
        status, body = search(other.claims, "refund", limit="1", cursor=first["next_cursor"])
        assert status == 200 and body["results"] == []

    def test_both_paths(self, shop):
        tenant, _ = shop
        assert call_route("GET", "/api/v1/search", claims=tenant.claims, query={"q": "parcel"}) == search(
            tenant.claims, "parcel"
        )

    @pytest.mark.parametrize(
        ("query", "error"),
        [
            ({}, "q is required: 1 to 200 characters (after trimming spaces), without NUL characters"),
            ({"q": "   "}, "q is required: 1 to 200 characters (after trimming spaces), without NUL characters"),
            ({"q": "a\x00b"}, "q is required: 1 to 200 characters (after trimming spaces), without NUL characters"),
            ({"q": "x" * 201}, "q is required: 1 to 200 characters (after trimming spaces), without NUL characters"),
            ({"q": "a", "type": "labels"}, "type must be one of messages, contacts, conversations"),
            ({"q": "a", "limit": "0"}, "limit must be an integer between 1 and 100"),
            (
                {"q": "a", "cursor": "bm9wZQ"},
                "cursor is not valid for this search (not a cursor); start again without it",
            ),
        ],
    )
    def test_bad_input_is_a_400_naming_the_parameter(self, make_connector, query, error):
        tenant = make_tenant(make_connector)
        assert call_route("GET", "/v1/search", claims=tenant.claims, query=query) == (400, {"error": error})

    @pytest.mark.parametrize("row_id", ["not-a-uuid", "urn:uuid:not", "", "12345678-1234-1234-1234-1234567890zz"])
    def test_a_hand_made_contacts_cursor_whose_id_is_no_uuid_is_refused(self, shop, row_id):
        """Cursors are not signed and their fingerprint can be computed; the id went to SQL's ::uuid (a 500)."""
        from threadline.domain.pagination import encode_keyset_cursor, list_fingerprint

        tenant, _ = shop
        cursor = encode_keyset_cursor(list_fingerprint("search", "contacts", "jose"), [0.5, row_id])
        assert search(tenant.claims, "jose", "contacts", cursor=cursor) == (
            400,
            {"error": "cursor is not valid for this search (not a cursor); start again without it"},
        )

    def test_a_hand_made_contacts_cursor_naming_any_uuid_pages_on(self, shop):
        from threadline.domain.pagination import encode_keyset_cursor, list_fingerprint

        tenant, _ = shop
        fingerprint = list_fingerprint("search", "contacts", "jose")
        for row_id in (str(uuid.uuid4()), f"{{{uuid.uuid4()}}}", uuid.uuid4().hex, f"urn:uuid:{uuid.uuid4()}"):
            cursor = encode_keyset_cursor(fingerprint, [2.0, row_id])
            status, body = search(tenant.claims, "jose", "contacts", cursor=cursor)
            assert status == 200 and [r["contact"]["name"] for r in body["results"]] == ["José Álvarez"], row_id

    def test_a_cursor_of_another_query_is_refused(self, shop):
        tenant, _ = shop
        _, first = search(tenant.claims, "refund", limit="1")
        status, body = search(tenant.claims, "parcel", cursor=first["next_cursor"])
        assert status == 400 and "cursor is not valid" in body["error"]


class TestInboxCountsFrame:
    def test_the_frame_carries_every_status_with_each_agents_and_teams_share(self, admin, make_connector):
        from threadline.db.tenancy import run_in_transaction
        from threadline.realtime.publisher import current_inbox_counts_frame

        tenant = make_tenant(make_connector)
        ana = add_agent(admin, tenant, "Ana")
        team = admin.execute(
            "INSERT INTO teams (tenant_id, name) VALUES (%s, 'T') RETURNING id", (tenant.id,)
        ).fetchone()[0]
        ids = ingest(
            tenant, *[chat(f"c{i}", f"+1555000{i:04d}", message(f"m{i}", "2026-02-01T10:00:00Z")) for i in range(4)]
        )
        admin.execute("UPDATE conversations SET assignee_id = %s, team_id = %s WHERE id = %s", (ana, team, ids[0]))
        admin.execute("UPDATE conversations SET team_id = %s WHERE id = %s", (team, ids[1]))
        admin.execute("UPDATE conversations SET status = 'resolved' WHERE id = %s", (ids[2],))

        frame = run_in_transaction(lambda conn: current_inbox_counts_frame(conn, tenant.id), tenant_id=tenant.id)
        assert frame.model_dump(mode="json") == {
            "type": "inbox_counts",
            "counts": {
                "open": {
                    "all": 3,
                    "unassigned": 2,
                    "assignees": {str(ana): 1},
                    "teams": {str(team): {"all": 2, "unassigned": 1}},
                },
                "pending": {"all": 0, "unassigned": 0, "assignees": {}, "teams": {}},
                "snoozed": {"all": 0, "unassigned": 0, "assignees": {}, "teams": {}},
                "resolved": {"all": 1, "unassigned": 1, "assignees": {}, "teams": {}},
            },
            "seq": None,
        }
        assert claims_for(tenant.id, ana)

    def test_every_change_that_moves_the_counts_pushes_them_to_the_inbox_feed_after_its_own_frame(
        self, make_connector, admin, management_api
    ):
        inbox = make_inbox(make_connector, admin, "Ana")
        watcher = subscribe(admin, inbox.tenant_id, ("inbox", "tenant"))
        conversation = customer_writes(inbox, "chat_live_counts")
        ana = inbox.claims("Ana")
        assert patch(conversation, {"assignee_id": str(inbox.agents["Ana"])}, claims=ana).status == 200
        assert patch(conversation, {"priority": "high"}, claims=ana).status == 200  # moves no count
        assert patch(conversation, {"status": "resolved"}, claims=ana).status == 200

        feed = [(f["type"], f.get("event")) for f in management_api(watcher)]
        assert feed == [
            ("inbox_conversation", "created"),
            ("inbox_counts", None),
            ("inbox_conversation", "assigned"),
            ("inbox_counts", None),
            ("inbox_conversation", "updated"),
            ("inbox_conversation", "updated"),
            ("inbox_counts", None),
        ]
        counts = [f["counts"] for f in management_api(watcher) if f["type"] == "inbox_counts"]
        agent = str(inbox.agents["Ana"])
        assert [(c["open"]["all"], c["open"]["unassigned"], c["open"]["assignees"]) for c in counts] == [
            (1, 1, {}),
            (1, 0, {agent: 1}),
            (0, 0, {}),
        ]
        assert counts[-1]["resolved"] == {"all": 1, "unassigned": 0, "assignees": {agent: 1}, "teams": {}}
        # The same numbers as the route's.
        status, body = call_route("GET", "/v1/conversations/counts", claims=ana, query={"status": "resolved"})
        assert status == 200 and (body["mine"], body["all"]) == (1, 1)

    def test_a_feed_nobody_subscribes_to_reads_no_counts_and_a_failing_read_never_fails_the_write(
        self, make_connector, admin, management_api, monkeypatch
    ):
        from threadline.realtime import publisher

        inbox = make_inbox(make_connector, admin, "Ana")
        read: list[Any] = []
        original = publisher.current_inbox_counts_frame

        def counting(conn: Any, tenant_id: Any) -> dict[str, Any]:
            read.append(tenant_id)
            return original(conn, tenant_id)

        monkeypatch.setattr(publisher, "current_inbox_counts_frame", counting)
        conversation = customer_writes(inbox, "chat_unwatched")
        assert read == []

        watcher = subscribe(admin, inbox.tenant_id, ("inbox", "tenant"))

        def failing(conn: Any, tenant_id: Any) -> dict[str, Any]:
            raise RuntimeError("the ledger is unreadable")

        monkeypatch.setattr(publisher, "current_inbox_counts_frame", failing)
        changed = patch(conversation, {"status": "resolved"}, claims=inbox.claims("Ana"))
        assert changed.status == 200 and changed.body["status"] == "resolved"
        assert management_api(watcher) == []  # logged, not raised: the whole publish is skipped
