"""Labels, private notes and per-agent read state through the real handlers (template routing): PUT
/v1/conversations/{id}/labels, GET /v1/labels, POST /v1/conversations/{id}/notes and POST /v1/conversations/{id}/read
(each also under /api/v1), the unread counts the conversation list and detail show, WhatsApp read receipts against
the fake Graph API, and the frames subscribers receive."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
import pytest

# management_api: moto's WebSocket management API, the fixture the publisher's own tests use (named by the tests
# below as their parameter, hence their noqa).
from tests.support.realtime import subscribe
from tests.support.routes import call_route, service_claims
from tests.support.send import WhatsAppTenant, call_send, customer_wrote, make_whatsapp_tenant

PHONE = "+447700900123"
SEND_EVENT = "conversation-send-v1.json"


@dataclass(frozen=True)
class Team:
    tenant: WhatsAppTenant
    ana: uuid.UUID
    bob: uuid.UUID

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.tenant.tenant_id


def _add_user(admin: psycopg.Connection[Any], tenant_id: uuid.UUID, name: str) -> uuid.UUID:
    from threadline.db.repositories.tenants import insert_user

    return insert_user(admin, tenant_id=tenant_id, name=name, email=f"{uuid.uuid4().hex[:8]}@acme.test").id


@pytest.fixture
def team(admin: psycopg.Connection[Any]) -> Team:
    tenant = make_whatsapp_tenant(admin)
    return Team(tenant, _add_user(admin, tenant.tenant_id, "Ana Agent"), _add_user(admin, tenant.tenant_id, "Bob"))


@pytest.fixture
def other_team(admin: psycopg.Connection[Any]) -> Team:
    tenant = make_whatsapp_tenant(admin)
    return Team(tenant, _add_user(admin, tenant.tenant_id, "Eve"), _add_user(admin, tenant.tenant_id, "Mallory"))


def as_agent(team: Team, agent: uuid.UUID | None) -> dict[str, str]:
    return service_claims(team.tenant_id, agent)


def put_labels(team: Team, agent: uuid.UUID | None, conversation: int, labels: Any, prefix: str = "/v1"):
    return call_route(
        "PUT", f"{prefix}/conversations/{conversation}/labels", body={"labels": labels}, claims=as_agent(team, agent)
    )


def tenant_labels(team: Team, agent: uuid.UUID | None = None, prefix: str = "/v1") -> dict[str, int]:
    status, body = call_route("GET", f"{prefix}/labels", claims=as_agent(team, agent or team.ana))
    assert status == 200, body
    return {label["name"]: label["conversation_count"] for label in body["labels"]}


def write_note(team: Team, agent: uuid.UUID | None, conversation: int, content: Any, prefix: str = "/v1"):
    return call_route(
        "POST", f"{prefix}/conversations/{conversation}/notes", body={"content": content}, claims=as_agent(team, agent)
    )


def mark_read(team: Team, agent: uuid.UUID | None, conversation: int, body: Any = None, prefix: str = "/v1"):
    return call_route("POST", f"{prefix}/conversations/{conversation}/read", body=body, claims=as_agent(team, agent))


def unread_in_list(team: Team, agent: uuid.UUID | None, conversation: int) -> int:
    status, body = call_route("GET", "/v1/conversations", claims=as_agent(team, agent))
    assert status == 200, body
    (item,) = [item for item in body["conversations"] if item["id"] == conversation]
    return item["unread_count"]


def unread_in_detail(team: Team, agent: uuid.UUID | None, conversation: int) -> int:
    status, body = call_route("GET", f"/api/v1/conversations/{conversation}", claims=as_agent(team, agent))
    assert status == 200, body
    return body["unread_count"]


def messages_v1(team: Team, conversation: int) -> list[dict[str, Any]]:
    status, body = call_route("GET", f"/v1/conversations/{conversation}/messages", claims=as_agent(team, team.ana))
    assert status == 200, body
    return body["messages"]


def agent_view(team: Team, conversation: int) -> list[dict[str, Any]]:
    status, body = call_route(
        "GET", f"/api/agent/conversations/{conversation}/messages", claims=as_agent(team, team.ana)
    )
    assert status == 200, body
    return body["data"]["messages"]


def stored_label_counts(admin: psycopg.Connection[Any], tenant_id: uuid.UUID) -> dict[str, int]:
    """What a COUNT per label says (the truth the trigger-kept counters must equal)."""
    rows = admin.execute(
        "SELECT l.name, count(cl.label_id) FROM labels l LEFT JOIN conversation_labels cl ON cl.label_id = l.id"
        " WHERE l.tenant_id = %s GROUP BY l.name",
        (tenant_id,),
    ).fetchall()
    return dict(rows)


def labels_activity_of(admin: psycopg.Connection[Any], conversation: int) -> str:
    row = admin.execute(
        "SELECT content FROM messages WHERE conversation_id = %s AND source = 'activity' ORDER BY id DESC LIMIT 1",
        (conversation,),
    ).fetchone()
    assert row is not None
    return str(row[0])


def version_of(admin: psycopg.Connection[Any], conversation: int) -> int:
    row = admin.execute("SELECT version FROM conversations WHERE id = %s", (conversation,)).fetchone()
    assert row is not None
    return int(row[0])


def message_total(admin: psycopg.Connection[Any], conversation: int) -> int:
    row = admin.execute("SELECT count(*) FROM messages WHERE conversation_id = %s", (conversation,)).fetchone()
    assert row is not None
    return int(row[0])


def customer_writes_again(team: Team, conversation_key: str, *, minutes_ago: int = 1) -> int:
    return customer_wrote(team.tenant, phone=PHONE, ago=timedelta(minutes=minutes_ago), conversation=conversation_key)


@pytest.fixture
def chat(team: Team) -> tuple[int, str]:
    """A conversation whose customer wrote once; (id, external conversation id) to write into it again."""
    key = f"chat_{uuid.uuid4().hex[:8]}"
    return customer_wrote(team.tenant, phone=PHONE, ago=timedelta(minutes=30), conversation=key), key


# ---------------------------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["/v1", "/api/v1"])
def test_labels_replace_the_set_match_case_insensitively_and_keep_the_first_spelling(admin, team, chat, prefix):
    conversation, _ = chat
    other = customer_wrote(team.tenant, phone="+15550001111", ago=timedelta(minutes=5))
    before = version_of(admin, conversation)

    status, body = put_labels(team, team.ana, conversation, ["vip", "Billing", " VIP ", "billing"], prefix)

    assert status == 200, body
    assert body == {"conversation_id": conversation, "labels": ["vip", "Billing"], "version": before + 1}
    assert version_of(admin, conversation) == before + 1

    status, body = put_labels(team, team.bob, other, ["BILLING", "Vip"], prefix)
    assert (status, body["labels"]) == (200, ["Billing", "vip"]), "an existing label keeps its first spelling"
    assert tenant_labels(team, prefix=prefix) == {"vip": 2, "Billing": 2}

    status, body = put_labels(team, team.ana, conversation, ["refund"], prefix)
    assert (status, body["labels"]) == (200, ["refund"])
    assert tenant_labels(team) == {"vip": 1, "Billing": 1, "refund": 1}

    status, body = put_labels(team, team.bob, other, [], prefix)
    assert (status, body["labels"]) == (200, [])
    # A label no conversation carries stays in the tenant's vocabulary, with 0.
    assert tenant_labels(team) == {"vip": 0, "Billing": 0, "refund": 1} == stored_label_counts(admin, team.tenant_id)


@pytest.mark.parametrize(("label", "same_in_postgresql"), [("İstanbul", "ISTANBUL"), ("ΟΔΟΣ", "οδοσ")])
def test_labels_python_and_postgresql_lower_differently_are_kept(admin, team, chat, label, same_in_postgresql):
    """Python lowers İ to i + U+0307 and a word-final capital sigma to the final small form, PostgreSQL to i and
    the plain small sigma: labels are matched by the database's lower() alone, so the conversation carries the label
    (it used to be created and then silently left out), and spellings one there are one label."""
    conversation, _ = chat
    status, body = put_labels(team, team.ana, conversation, [label])
    assert (status, body["labels"]) == (200, [label])
    assert tenant_labels(team) == {label: 1} == stored_label_counts(admin, team.tenant_id)

    other = customer_wrote(team.tenant, phone="+15550001111", ago=timedelta(minutes=5))
    status, body = put_labels(team, team.bob, other, [label, same_in_postgresql])
    assert (status, body["labels"]) == (200, [label]), "every spelling is the one label, once"
    assert labels_activity_of(admin, other) == f"Bob added label {label}"
    assert tenant_labels(team) == {label: 2}
    assert put_labels(team, team.ana, conversation, [])[1]["labels"] == []
    assert tenant_labels(team) == {label: 1} == stored_label_counts(admin, team.tenant_id)


def test_label_counts_stay_exact_across_changes_and_deleted_conversations(admin, team):
    conversations = [customer_wrote(team.tenant, phone=f"+1555000{n:04d}", ago=timedelta(minutes=5)) for n in range(4)]
    sets = [["a", "b"], ["b", "c"], ["A", "c", "d"], ["d"]]
    for conversation, labels in zip(conversations, sets, strict=True):
        assert put_labels(team, team.ana, conversation, labels)[0] == 200
    assert tenant_labels(team) == {"a": 2, "b": 2, "c": 2, "d": 2} == stored_label_counts(admin, team.tenant_id)

    put_labels(team, team.bob, conversations[0], ["d", "e"])
    put_labels(team, team.bob, conversations[2], ["a"])
    admin.execute("DELETE FROM conversations WHERE id = %s", (conversations[1],))

    expected = {"a": 1, "b": 0, "c": 0, "d": 2, "e": 1}
    assert tenant_labels(team) == expected == stored_label_counts(admin, team.tenant_id)


def test_at_most_twenty_distinct_labels_and_repeats_collapse_first(admin, team, chat):
    conversation, _ = chat
    twenty = [f"label-{n}" for n in range(20)]

    status, body = put_labels(team, team.ana, conversation, [*twenty, *(name.upper() for name in twenty[:5])])
    assert (status, len(body["labels"])) == (200, 20)

    status, body = put_labels(team, team.ana, conversation, [*twenty, "one-too-many"])
    assert (status, body) == (400, {"error": "labels: at most 20 labels per conversation"})
    assert len(put_labels(team, team.ana, conversation, twenty)[1]["labels"]) == 20, "nothing changed"
    assert "one-too-many" not in tenant_labels(team)


@pytest.mark.parametrize(
    ("labels", "error"),
    [
        (["ok", ""], "labels[1]: must not be empty"),
        (["   "], "labels[0]: must not be empty"),
        (["x" * 51], "labels[0]: must be at most 50 characters"),
        (["nul\u0000"], "labels[0]: must not contain NUL characters"),
        ("vip", "labels: must be an array"),
        ([7], "labels[0]: must be a string"),
    ],
)
def test_bad_labels_are_refused_naming_the_field_and_change_nothing(admin, team, chat, labels, error):
    conversation, _ = chat
    put_labels(team, team.ana, conversation, ["kept"])
    version, messages = version_of(admin, conversation), message_total(admin, conversation)

    assert put_labels(team, team.ana, conversation, labels) == (400, {"error": error})

    assert tenant_labels(team) == {"kept": 1}
    assert (version_of(admin, conversation), message_total(admin, conversation)) == (version, messages)


def test_the_same_set_again_changes_nothing(admin, team, chat):
    conversation, _ = chat
    first = put_labels(team, team.ana, conversation, ["vip"])[1]
    messages = message_total(admin, conversation)

    status, body = put_labels(team, team.bob, conversation, ["VIP"])

    assert (status, body) == (200, first)
    assert message_total(admin, conversation) == messages, "no activity message for no change"


def test_concurrent_puts_never_exceed_the_cap_nor_duplicate_a_label(admin, team, chat):
    conversation, _ = chat
    sets = [[f"set{n}-{i}" for i in range(20)] for n in range(4)]
    # Every set shares these two names in other spellings: created concurrently, each must exist once.
    sets = [[f"Shared-{n % 2}", f"shared-{(n + 1) % 2}".upper(), *labels[:18]] for n, labels in enumerate(sets)]
    barrier = threading.Barrier(len(sets))
    answers: list[tuple[int, Any]] = []

    def put(labels: list[str], agent: uuid.UUID) -> None:
        barrier.wait()
        answers.append(put_labels(team, agent, conversation, labels))

    threads = [
        threading.Thread(target=put, args=(labels, team.ana if n % 2 else team.bob)) for n, labels in enumerate(sets)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [status for status, _ in answers] == [200] * len(sets)
    stored = admin.execute(
        "SELECT count(*) FROM conversation_labels WHERE conversation_id = %s", (conversation,)
    ).fetchone()
    assert stored == (20,)
    names = [row[0] for row in admin.execute("SELECT lower(name) FROM labels WHERE tenant_id = %s", (team.tenant_id,))]
    assert len(names) == len(set(names)) and {"shared-0", "shared-1"} <= set(names)
    assert tenant_labels(team) == stored_label_counts(admin, team.tenant_id)
    versions = sorted(body["version"] for _, body in answers)
    assert len(set(versions)) == len(versions), "each change got its own version"


def test_a_label_change_writes_an_activity_message_and_tells_subscribers(admin, team, chat, management_api):
    conversation, _ = chat
    put_labels(team, team.ana, conversation, ["spam"])
    watcher = subscribe(admin, team.tenant_id, ("conversation", conversation))

    status, body = put_labels(team, team.ana, conversation, ["vip", "billing"])

    assert status == 200, body
    activity, updated = management_api(watcher)
    assert activity["type"] == "conversation_message" and activity["event"] == "created"
    assert activity["message"]["content"] == "Ana Agent added labels vip, billing and removed label spam"
    assert activity["message"]["source"] == "activity" and activity["message"]["private"] is False
    assert updated == {
        "type": "conversation_updated",
        "conversationId": conversation,
        "changes": {"labels": ["vip", "billing"]},
        "by": {"id": str(team.ana), "name": "Ana Agent"},
        "version": body["version"],
        # The PUT's last labels event (its delete and its insert are one each)
        "seq": admin.execute(
            "SELECT max(seq) FROM events WHERE conversation_id = %s AND type = 'conversation.labels_changed'",
            (conversation,),
        ).fetchone()[0],
    }
    shown = agent_view(team, conversation)[-1]
    assert shown["body"] == activity["message"]["content"]
    assert shown["is_system_message"] is True and shown["author"]["type"] == "system"


# ---------------------------------------------------------------------------------------------------------------
# Notes
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["/v1", "/api/v1"])
def test_a_note_is_stored_private_shown_in_both_views_and_never_sent(admin, fake_graph, team, chat, prefix):
    conversation, _ = chat
    preview = admin.execute(
        "SELECT last_message_preview, last_message_at FROM conversations WHERE id = %s", (conversation,)
    ).fetchone()

    status, note = write_note(team, team.ana, conversation, "Refund approved by finance", prefix)

    assert status == 201, note
    assert note["private"] is True and note["content"] == "Refund approved by finance"
    assert note["author"]["type"] == "agent" and note["author"]["id"] == str(team.ana)
    assert note["is_system"] is False
    newest = messages_v1(team, conversation)[0]
    assert newest["id"] == note["id"] and newest["private"] is True
    in_agent_view = agent_view(team, conversation)[-1]
    assert in_agent_view["id"] == note["id"] and in_agent_view["is_private"] is True
    assert in_agent_view["is_agent"] is True and in_agent_view["author"]["name"] == "Ana Agent"
    assert [m["private"] for m in messages_v1(team, conversation)[1:]] == [False]
    assert fake_graph.requests == [], "a note never reaches Meta"
    assert (
        admin.execute(
            "SELECT last_message_preview, last_message_at FROM conversations WHERE id = %s", (conversation,)
        ).fetchone()
        == preview
    ), "a note is internal: the conversation's latest activity stays what the customer saw"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("   \n\t ", "content: must not be empty or only whitespace"),
        ("", "content: must not be empty"),
        ("x" * 16_385, "content: must be at most 16384 characters"),
        (None, "content: must be a string"),
    ],
)
def test_a_bad_note_is_refused_naming_content(admin, fake_graph, team, chat, content, error):
    conversation, _ = chat
    messages = message_total(admin, conversation)
    assert write_note(team, team.ana, conversation, content) == (400, {"error": error})
    assert message_total(admin, conversation) == messages


def test_a_note_reaches_subscribers_as_a_private_message(admin, team, chat, management_api):
    conversation, _ = chat
    watcher = subscribe(admin, team.tenant_id, ("conversation", conversation))

    status, note = write_note(team, team.bob, conversation, "Call her back at 5")

    assert status == 201, note
    (frame,) = management_api(watcher)
    assert frame["type"] == "conversation_message" and frame["event"] == "created"
    assert frame["message"]["id"] == note["id"] and frame["message"]["private"] is True
    assert frame["message"]["source"] == "note" and frame["message"]["content"] == "Call her back at 5"


def test_a_note_is_unread_for_other_agents_but_never_for_its_author(team, chat):
    conversation, _ = chat
    assert mark_read(team, team.bob, conversation)[0] == 200
    assert mark_read(team, team.ana, conversation)[0] == 200

    write_note(team, team.ana, conversation, "Looks like fraud")

    assert unread_in_list(team, team.ana, conversation) == 0
    assert unread_in_list(team, team.bob, conversation) == 1
    assert unread_in_detail(team, team.bob, conversation) == 1
    write_note(team, team.bob, conversation, "Agreed")
    assert (unread_in_list(team, team.ana, conversation), unread_in_list(team, team.bob, conversation)) == (1, 0)


# ---------------------------------------------------------------------------------------------------------------
# Read state
# ---------------------------------------------------------------------------------------------------------------
def test_unread_is_per_agent_and_reading_moves_only_the_callers_horizon(team, chat):
    conversation, key = chat
    customer_writes_again(team, key, minutes_ago=20)
    # Before anyone read it: the shared count (customer messages since the last reply).
    assert unread_in_list(team, team.ana, conversation) == 2 == unread_in_list(team, team.bob, conversation)

    status, state = mark_read(team, team.ana, conversation)

    assert status == 200, state
    assert state["unread_count"] == 0 and state["conversation_id"] == conversation
    assert (unread_in_list(team, team.ana, conversation), unread_in_list(team, team.bob, conversation)) == (0, 2)
    customer_writes_again(team, key, minutes_ago=10)
    assert (unread_in_list(team, team.ana, conversation), unread_in_detail(team, team.ana, conversation)) == (1, 1)
    assert unread_in_list(team, None, conversation) == 3, "a token without a user sees the shared count"


def test_the_horizon_never_moves_backwards_and_up_to_reads_that_far(team, chat):
    conversation, key = chat
    customer_writes_again(team, key, minutes_ago=20)
    customer_writes_again(team, key, minutes_ago=10)
    oldest_first = [m["id"] for m in reversed(messages_v1(team, conversation))]

    status, state = mark_read(team, team.ana, conversation, {"up_to_message_id": oldest_first[1]})
    assert (status, state["last_read_message_id"], state["unread_count"]) == (200, oldest_first[1], 1)

    status, state = mark_read(team, team.ana, conversation, {"up_to_message_id": oldest_first[0]})
    assert (status, state["last_read_message_id"], state["unread_count"]) == (200, oldest_first[1], 1)
    assert unread_in_list(team, team.ana, conversation) == 1

    status, state = mark_read(team, team.ana, conversation, {})
    assert (status, state["last_read_message_id"], state["unread_count"]) == (200, oldest_first[2], 0)


def test_replying_moves_the_repliers_horizon(fake_graph, team, chat):
    conversation, key = chat
    status, body = call_route(
        "POST", f"/v1/conversations/{conversation}/messages", body={"content": "On it"}, claims=as_agent(team, team.bob)
    )
    assert status == 201, body
    assert unread_in_list(team, team.bob, conversation) == 0

    customer_writes_again(team, key, minutes_ago=0)
    assert unread_in_list(team, team.bob, conversation) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"up_to_message_id": 0}, "up_to_message_id: Input should be greater than or equal to 1"),
        ({"up_to_message_id": "12"}, "up_to_message_id: Input should be a valid integer"),
        ({"since": 1}, "since: is not a known field"),
    ],
)
def test_bad_read_requests_are_refused(team, chat, body, error):
    conversation, _ = chat
    assert mark_read(team, team.ana, conversation, body) == (400, {"error": error})


def test_a_message_of_another_conversation_cannot_be_read_up_to(team, chat):
    conversation, _ = chat
    other = customer_wrote(team.tenant, phone="+15550002222", ago=timedelta(minutes=5))
    elsewhere = messages_v1(team, other)[0]["id"]

    status, body = mark_read(team, team.ana, conversation, {"up_to_message_id": elsewhere})

    assert (status, body) == (
        400,
        {"error": f"up_to_message_id: message {elsewhere} is not a message of this conversation"},
    )
    assert unread_in_list(team, team.ana, conversation) == 1


# ---------------------------------------------------------------------------------------------------------------
# Read receipts
# ---------------------------------------------------------------------------------------------------------------
def _receipts(admin: psycopg.Connection[Any], team: Team, policy: str) -> None:
    admin.execute("UPDATE tenants SET read_receipts = %s WHERE id = %s", (policy, team.tenant_id))


def _known_to_meta(admin: psycopg.Connection[Any], conversation: int) -> list[str]:
    """Give the conversation's inbound messages wamids, as Meta's webhook stores them; oldest first."""
    wamids = []
    for (message_id,) in admin.execute(
        "SELECT id FROM messages WHERE conversation_id = %s AND direction = 'inbound' ORDER BY id", (conversation,)
    ).fetchall():
        wamid = f"wamid.TEST{uuid.uuid4().hex.upper()}"
        admin.execute("UPDATE messages SET meta_id = %s WHERE id = %s", (wamid, message_id))
        wamids.append(wamid)
    return wamids


def test_on_read_marks_the_newest_covered_inbound_message_read_once(admin, fake_graph, team, chat):
    conversation, key = chat
    customer_writes_again(team, key, minutes_ago=5)
    wamids = _known_to_meta(admin, conversation)
    _receipts(admin, team, "on_read")

    assert mark_read(team, team.ana, conversation)[0] == 200

    (receipt,) = fake_graph.read_receipts
    assert receipt.phone_number_id == team.tenant.phone_number_id
    assert receipt.json == {"messaging_product": "whatsapp", "status": "read", "message_id": wamids[-1]}
    assert mark_read(team, team.ana, conversation)[0] == 200
    assert len(fake_graph.read_receipts) == 1, "nothing newly covered: nothing sent again"
    assert mark_read(team, team.bob, conversation)[0] == 200
    assert len(fake_graph.read_receipts) == 2, "another agent's first read covers them for the first time"


def test_meta_down_never_fails_marking_read(admin, fake_graph, team, chat):
    conversation, _ = chat
    _known_to_meta(admin, conversation)
    _receipts(admin, team, "on_read")
    fake_graph.script(fake_graph.server_error(503))

    status, state = mark_read(team, team.ana, conversation)

    assert (status, state["unread_count"]) == (200, 0)
    assert len(fake_graph.read_receipts) == 1 and unread_in_list(team, team.ana, conversation) == 0


def test_never_sends_no_receipt(admin, fake_graph, team, chat):
    conversation, _ = chat
    _known_to_meta(admin, conversation)
    assert mark_read(team, team.ana, conversation)[0] == 200
    assert fake_graph.requests == []


def test_on_reply_marks_read_when_an_agent_replies_and_not_when_they_only_read(admin, fake_graph, team, chat):
    conversation, _ = chat
    (wamid,) = _known_to_meta(admin, conversation)
    _receipts(admin, team, "on_reply")

    assert mark_read(team, team.ana, conversation)[0] == 200
    assert fake_graph.requests == []

    status, body = call_send(
        {"content": "Hi!"}, tenant_id=team.tenant_id, conversation_id=conversation, event_file=SEND_EVENT
    )
    assert status == 201, body
    assert [request.json.get("message_id") for request in fake_graph.read_receipts] == [wamid]
    assert len(fake_graph.send_requests) == 2, "the reply, then the receipt"


def test_a_failed_receipt_after_a_reply_leaves_the_reply_sent(admin, fake_graph, team, chat):
    conversation, _ = chat
    _known_to_meta(admin, conversation)
    _receipts(admin, team, "on_reply")
    fake_graph.script(fake_graph.success(), fake_graph.server_error(500))

    status, body = call_send(
        {"content": "Hi!"}, tenant_id=team.tenant_id, conversation_id=conversation, event_file=SEND_EVENT
    )

    assert (status, body["message"]["status"]) == (201, "sent")
    assert len(fake_graph.read_receipts) == 1


# ---------------------------------------------------------------------------------------------------------------
# Who may
# ---------------------------------------------------------------------------------------------------------------
def test_a_token_without_a_user_of_the_tenant_cannot_annotate(admin, team, other_team, chat):
    conversation, _ = chat
    messages = message_total(admin, conversation)
    forbidden = {
        "error": "This token names no agent of the tenant: labels, notes and read state need an agent's own token"
    }
    for agent in (None, uuid.uuid4(), other_team.ana):  # a service token, an unknown uuid, another tenant's user
        assert put_labels(team, agent, conversation, ["vip"]) == (403, forbidden)
        assert write_note(team, agent, conversation, "hi") == (403, forbidden)
        assert mark_read(team, agent, conversation) == (403, forbidden)
    assert message_total(admin, conversation) == messages and tenant_labels(team) == {}


@pytest.mark.parametrize("prefix", ["/v1", "/api/v1"])
def test_a_token_without_a_user_of_the_tenant_cannot_list_labels(team, other_team, chat, prefix):
    """docs/conversations-api.md: every route of labels, notes and read state takes an agent's own token, GET
    /v1/labels included (it answered 200 with the tenant's labels to any token of the tenant)."""
    conversation, _ = chat
    assert put_labels(team, team.ana, conversation, ["vip"])[0] == 200
    forbidden = {
        "error": "This token names no agent of the tenant: labels, notes and read state need an agent's own token"
    }
    for agent in (None, uuid.uuid4(), other_team.ana):  # a service token, an unknown uuid, another tenant's user
        assert call_route("GET", f"{prefix}/labels", claims=as_agent(team, agent)) == (403, forbidden)
    assert tenant_labels(team, team.bob, prefix) == {"vip": 1}


@pytest.mark.parametrize("prefix", ["/v1", "/api/v1"])
def test_another_tenants_conversation_is_not_found_on_every_route(admin, team, other_team, chat, prefix):
    conversation, _ = chat
    put_labels(team, team.ana, conversation, ["secret-label"])
    messages = message_total(admin, conversation)
    not_found = (404, {"error": "Conversation not found"})

    assert put_labels(other_team, other_team.ana, conversation, ["x"], prefix) == not_found
    assert write_note(other_team, other_team.ana, conversation, "x", prefix) == not_found
    assert mark_read(other_team, other_team.ana, conversation, None, prefix) == not_found
    assert mark_read(other_team, other_team.ana, 9_000_000_000, None, prefix) == not_found
    assert tenant_labels(other_team, prefix=prefix) == {}
    assert message_total(admin, conversation) == messages and tenant_labels(team) == {"secret-label": 1}


def test_a_workspace_chat_session_carries_no_labels(admin, team):
    """Labels are the inbox's: a session's conversation is not found, so a label's kept count is the inbox's."""
    from tests.support.sessions import make_session

    session = make_session(admin, team.tenant_id)

    status, body = put_labels(team, team.ana, session.conversation_id, ["vip"])

    assert (status, body) == (404, {"error": "Conversation not found"})
    assert (
        admin.execute(
            "SELECT count(*) FROM conversation_labels WHERE conversation_id = %s", (session.conversation_id,)
        ).fetchone()[0]
        == 0
    )
