"""The team inbox's lifecycle and ownership, through the real handlers: PATCH /v1/conversations/{id} (status,
snooze, assignee, team, priority; ETag and If-Match), re-opening on the customer's next message (ingest and Meta's
webhook), snoozes ending in the scheduled run, activity messages, agents, availability, teams, auto-assignment
(20 at once included) and the real-time frames of each change."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.template import load_template
from tests.support.inbox import (
    activity,
    add_agent,
    add_team,
    call,
    configure_tenant,
    customer_writes,
    loads,
    make_inbox,
    patch,
    state,
)
from tests.support.meta_payloads import change, contact, notification, post, text_message, wamid
from tests.support.paths import load_event
from tests.support.realtime import subscribe
from tests.support.routes import call_route

# Their fixtures: moto's WebSocket management API, and WhatsApp numbers with the webhook's secrets set.

pytestmark = pytest.mark.usefixtures("meta_secrets")


UTC_RANGE = "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z"


def iso_in(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


@pytest.fixture
def inbox(make_connector, admin):
    return make_inbox(make_connector, admin, "Ana", "Bob")


class TestStatus:
    def test_each_status_change_answers_the_conversation_with_its_etag_and_writes_its_activity(self, inbox, admin):
        conversation = customer_writes(inbox, "chat_status")
        got = call("GET", f"/v1/conversations/{conversation}", claims=inbox.claims("Ana"))
        assert got.status == 200 and got.headers["ETag"] == 'W/"1"' and got.body["version"] == 1

        resolved = patch(conversation, {"status": "resolved"}, claims=inbox.claims("Ana"))
        assert resolved.status == 200, resolved.body
        assert resolved.body["status"] == "resolved" and resolved.body["version"] == 2
        assert resolved.headers["ETag"] == 'W/"2"'
        # The same detail GET answers, built by the same code.
        assert call("GET", f"/v1/conversations/{conversation}", claims=inbox.claims("Ana")).body == resolved.body

        assert patch(conversation, {"status": "pending"}, claims=inbox.claims("Bob"), prefix="/api/v1").status == 200
        assert patch(conversation, {"status": "open"}, claims=inbox.claims("Ana")).body["status"] == "open"
        assert activity(admin, conversation) == ["Resolved by Ana", "Marked pending by Bob", "Marked open by Ana"]

    def test_snoozing_until_a_time_or_until_the_customer_writes(self, inbox, admin):
        conversation = customer_writes(inbox, "chat_snooze")
        until = datetime.now(UTC) + timedelta(hours=3)
        snoozed = patch(conversation, {"snoozed_until": until.isoformat()}, claims=inbox.claims("Ana"))
        assert snoozed.status == 200, snoozed.body
        assert snoozed.body["status"] == "snoozed"
        assert datetime.fromisoformat(snoozed.body["snoozed_until"].replace("Z", "+00:00")) == until.replace(
            microsecond=until.microsecond
        )
        indefinitely = patch(conversation, {"status": "snoozed"}, claims=inbox.claims("Ana"))
        assert indefinitely.body["status"] == "snoozed" and indefinitely.body["snoozed_until"] is None
        # Any other status ends the snooze.
        assert patch(conversation, {"status": "resolved"}, claims=inbox.claims("Ana")).body["snoozed_until"] is None
        assert activity(admin, conversation) == [
            f"Snoozed until {until.strftime('%Y-%m-%d %H:%M')} UTC by Ana",
            "Snoozed by Ana until the customer writes again",
            "Resolved by Ana",
        ]

    @pytest.mark.parametrize(
        ("body", "error"),
        [
            ({"status": "snoozed", "snoozed_until": "2020-01-01T00:00:00Z"}, "snoozed_until: must be in the future"),
            ({"status": "closed"}, "status: must be one of"),
            ({"status": None}, "status: must be one of"),
            ({"status": "open", "snoozed_until": "2999-01-01T00:00:00Z"}, "snoozed_until: only a snoozed"),
            # Outside Python's years 1-9999 once in UTC (these were a 500: OverflowError).
            ({"snoozed_until": "9999-12-31T23:59:59-14:00"}, f"snoozed_until: {UTC_RANGE}"),
            ({"snoozed_until": "9999-12-31T23:59:59.999999-23:59"}, f"snoozed_until: {UTC_RANGE}"),
            ({"snoozed_until": "0001-01-01T00:00:00+14:00"}, f"snoozed_until: {UTC_RANGE}"),
            ({"priority": "critical"}, "priority: must be one of"),
            ({"assignee_id": "not-a-uuid"}, "assignee_id"),
            ({"colour": "red"}, "colour: is not a known field"),
            ({}, "at least one of status, snoozed_until, assignee_id, team_id, priority"),
            ("[1]", "Request body must be a JSON object"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(self, inbox, admin, body, error):
        conversation = customer_writes(inbox, f"chat_bad_{uuid.uuid4().hex[:6]}")
        before = state(admin, conversation)
        answer = patch(conversation, body, claims=inbox.claims("Ana"))
        assert answer.status == 400 and error in answer.body["error"], answer.body
        assert state(admin, conversation) == before and activity(admin, conversation) == []

    def test_the_last_moment_of_year_9999_in_utc_is_a_snooze_time(self, inbox, admin):
        conversation = customer_writes(inbox, f"chat_far_{uuid.uuid4().hex[:6]}")
        answer = patch(conversation, {"snoozed_until": "9999-12-31T23:59:59Z"}, claims=inbox.claims("Ana"))
        assert answer.status == 200, answer.body
        assert answer.body["status"] == "snoozed" and answer.body["snoozed_until"].startswith("9999-12-31T23:59:59")

    def test_an_unchanged_value_changes_nothing_and_writes_no_activity(self, inbox, admin):
        conversation = customer_writes(inbox, "chat_same")
        answer = patch(conversation, {"status": "open", "priority": None}, claims=inbox.claims("Ana"))
        assert answer.status == 200 and answer.body["version"] == 1
        assert activity(admin, conversation) == []


class TestOptimisticConcurrency:
    def test_a_stale_if_match_is_412_and_changes_nothing(self, inbox, admin):
        conversation = customer_writes(inbox, "chat_412")
        read_by_both = call("GET", f"/v1/conversations/{conversation}", claims=inbox.claims("Ana")).headers["ETag"]

        first = patch(conversation, {"status": "resolved"}, claims=inbox.claims("Ana"), if_match=read_by_both)
        assert first.status == 200
        second = patch(conversation, {"priority": "urgent"}, claims=inbox.claims("Bob"), if_match=read_by_both)

        assert second.status == 412 and "changed since you read it" in second.body["error"]
        assert state(admin, conversation)["priority"] is None and state(admin, conversation)["version"] == 2
        assert activity(admin, conversation) == ["Resolved by Ana"]
        # With the current ETag it goes through.
        third = patch(conversation, {"priority": "urgent"}, claims=inbox.claims("Bob"), if_match=first.headers["ETag"])
        assert third.status == 200 and third.body["priority"] == "urgent"

    def test_an_if_match_naming_no_version_of_ours_never_matches(self, inbox):
        conversation = customer_writes(inbox, "chat_412b")
        assert patch(conversation, {"status": "pending"}, claims=inbox.claims("Ana"), if_match='"abc"').status == 412
        assert patch(conversation, {"status": "pending"}, claims=inbox.claims("Ana"), if_match="*").status == 200

    def test_of_two_concurrent_changes_with_the_same_if_match_exactly_one_wins(self, inbox, admin):
        conversation = customer_writes(inbox, "chat_race")
        barrier = threading.Barrier(4)

        def change(priority: str) -> int:
            barrier.wait()
            return patch(conversation, {"priority": priority}, claims=inbox.claims("Ana"), if_match='W/"1"').status

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = sorted(pool.map(change, ["low", "medium", "high", "urgent"]))
        assert statuses == [200, 412, 412, 412]
        assert len(activity(admin, conversation)) == 1 and state(admin, conversation)["version"] == 2


class TestOwnership:
    def test_assigning_and_unassigning_an_agent(self, inbox, admin):
        conversation = customer_writes(inbox, "chat_assign")
        assigned = patch(conversation, {"assignee_id": str(inbox.agents["Bob"])}, claims=inbox.claims("Ana"))
        assert assigned.status == 200
        assert assigned.body["assignee"] == {"id": str(inbox.agents["Bob"]), "name": "Bob", "avatar_url": None}
        unassigned = patch(conversation, {"assignee_id": None}, claims=inbox.claims("Ana"))
        assert unassigned.body["assignee"] is None
        assert activity(admin, conversation) == ["Ana assigned this to Bob", "Ana unassigned Bob"]

    def test_an_assignee_must_be_an_agent_of_the_tenant(self, inbox, make_connector, admin):
        other = make_inbox(make_connector, admin, "Eve")
        conversation = customer_writes(inbox, "chat_foreign_agent")
        for stranger in (other.agents["Eve"], uuid.uuid4()):
            answer = patch(conversation, {"assignee_id": str(stranger)}, claims=inbox.claims("Ana"))
            assert answer.status == 400 and answer.body["error"] == "assignee_id: must be an agent of this tenant"
        assert state(admin, conversation)["assignee_id"] is None

    def test_with_a_team_the_assignee_must_be_a_member(self, inbox, admin):
        billing = add_team(admin, inbox, "Billing", "Ana")
        conversation = customer_writes(inbox, "chat_team")
        moved = patch(conversation, {"team_id": str(billing), "priority": "high"}, claims=inbox.claims("Ana"))
        assert moved.status == 200 and moved.body["team"] == {"id": str(billing), "name": "Billing"}

        not_member = patch(conversation, {"assignee_id": str(inbox.agents["Bob"])}, claims=inbox.claims("Ana"))
        assert not_member.status == 400 and "member of the conversation's team" in not_member.body["error"]
        member = patch(conversation, {"assignee_id": str(inbox.agents["Ana"])}, claims=inbox.claims("Ana"))
        assert member.status == 200
        # Moving it to another team whose members exclude the assignee needs the assignee too.
        support = add_team(admin, inbox, "Support", "Bob")
        refused = patch(conversation, {"team_id": str(support)}, claims=inbox.claims("Ana"))
        assert refused.status == 400 and refused.body["error"].startswith("team_id:")
        both = patch(
            conversation, {"team_id": str(support), "assignee_id": str(inbox.agents["Bob"])}, claims=inbox.claims("Ana")
        )
        assert both.status == 200
        assert patch(conversation, {"team_id": str(uuid.uuid4())}, claims=inbox.claims("Ana")).status == 400
        assert activity(admin, conversation) == [
            "Ana moved this to team Billing",
            "Priority set to high by Ana",
            "Ana assigned this to Ana",
            "Ana assigned this to Bob",
            "Ana moved this to team Support",
        ]

    def test_a_service_token_may_change_a_conversation_and_is_named_as_such(self, inbox, admin):
        conversation = customer_writes(inbox, "chat_service")
        assert patch(conversation, {"priority": None, "status": "resolved"}, claims=inbox.claims()).status == 200
        [entry] = activity(admin, conversation)
        assert entry.startswith("Resolved by ")


class TestReopening:
    @pytest.mark.parametrize(
        "how", [{"status": "resolved"}, {"status": "snoozed"}, {"snoozed_until": "2999-01-01T00:00:00Z"}]
    )
    def test_the_customer_s_new_message_reopens_a_resolved_or_snoozed_conversation(self, inbox, admin, how):
        external = f"chat_reopen_{uuid.uuid4().hex[:6]}"
        conversation = customer_writes(inbox, external)
        assert patch(conversation, how, claims=inbox.claims("Ana")).status == 200

        customer_writes(inbox, external)

        after = state(admin, conversation)
        assert after["status"] == "open" and after["snoozed_until"] is None
        assert activity(admin, conversation)[-1] == "Reopened: new message from the customer"

    def test_the_business_s_own_message_or_a_resent_one_reopens_nothing(self, inbox, admin):
        conversation = customer_writes(inbox, "chat_outbound")
        patch(conversation, {"status": "resolved"}, claims=inbox.claims("Ana"))
        customer_writes(inbox, "chat_outbound", direction="outbound")
        assert state(admin, conversation)["status"] == "resolved"
        assert activity(admin, conversation) == ["Resolved by Ana"]

    def test_a_pending_conversation_stays_pending_as_the_lifecycle_says_only_resolved_and_snoozed_reopen(
        self, inbox, admin
    ):
        conversation = customer_writes(inbox, "chat_pending")
        patch(conversation, {"status": "pending"}, claims=inbox.claims("Ana"))
        customer_writes(inbox, "chat_pending")
        assert state(admin, conversation)["status"] == "pending"

    def test_meta_s_webhook_reopens_it_too(self, make_number, admin):
        number = make_number()
        sender = "5511987650001"
        first = notification(
            change(
                number.phone_number_id,
                contacts=[contact("Ana", wa_id=sender)],
                messages=[text_message(wamid(), "Oi", sender=sender)],
            )
        )
        assert post(first).status == 200
        [conversation] = [
            row[0] for row in admin.execute("SELECT id FROM conversations WHERE tenant_id = %s", (number.tenant_id,))
        ]
        agent = add_agent(admin, number.tenant_id, "Ana")
        claims = {"iss": "x", "aud": "y", "sub": str(agent), "tenant_id": str(number.tenant_id)}
        assert patch(conversation, {"status": "resolved"}, claims=claims).status == 200

        again = notification(
            change(
                number.phone_number_id,
                contacts=[contact("Ana", wa_id=sender)],
                messages=[text_message(wamid(), "Olá?", sender=sender)],
            )
        )
        assert post(again).status == 200

        assert state(admin, conversation)["status"] == "open"
        assert activity(admin, conversation) == ["Resolved by Ana", "Reopened: new message from the customer"]


def run_schedule() -> dict[str, Any]:
    handler = load_handler(load_template().functions["ExpireWindowsFunction"])
    return handler(
        load_event("scheduled-window-expiry.json"), LocalLambdaContext(function_name="ExpireWindowsFunction")
    )


class TestSnoozeWakeUps:
    def test_the_scheduled_run_wakes_snoozes_that_are_due_and_no_others(self, inbox, admin):
        due, later = customer_writes(inbox, "chat_due"), customer_writes(inbox, "chat_later")
        for conversation in (due, later):
            assert (
                patch(conversation, {"snoozed_until": iso_in(timedelta(hours=1))}, claims=inbox.claims("Ana")).status
                == 200
            )
        # Time passes for one of them.
        admin.execute("UPDATE conversations SET snoozed_until = now() - interval '1 minute' WHERE id = %s", (due,))

        outcome = run_schedule()

        assert outcome["inbox"]["snoozes_woken"] >= 1
        assert state(admin, due)["status"] == "open" and state(admin, due)["snoozed_until"] is None
        assert activity(admin, due)[-1] == "Reopened: the snooze ended"
        assert state(admin, later)["status"] == "snoozed"
        # A second run finds nothing more of this tenant's to wake.
        run_schedule()
        assert activity(admin, due).count("Reopened: the snooze ended") == 1


class TestActivityInTheAgentView:
    def test_activity_messages_are_system_messages_in_the_agent_view_and_never_reach_meta(
        self, inbox, admin, fake_graph
    ):
        conversation = customer_writes(inbox, "chat_view")
        patch(conversation, {"status": "resolved", "priority": "high"}, claims=inbox.claims("Ana"))

        status, body = call_route(
            "GET", f"/api/agent/conversations/{conversation}/messages", claims=inbox.claims("Ana")
        )

        assert status == 200
        system = [m for m in body["data"]["messages"] if m.get("is_system_message")]
        assert [m["body"] for m in system] == ["Resolved by Ana", "Priority set to high by Ana"]
        assert all(m["author"]["type"] == "system" for m in system)
        assert fake_graph.requests == []
        # Not a reply: the customer's message is still unanswered.
        assert admin.execute("SELECT unread_count FROM conversations WHERE id = %s", (conversation,)).fetchone() == (1,)


class TestAgentsAndTeams:
    def test_agents_with_their_availability_and_open_conversations(self, inbox, admin):
        conversation = customer_writes(inbox, "chat_load")
        patch(conversation, {"assignee_id": str(inbox.agents["Bob"])}, claims=inbox.claims("Ana"))
        pending = customer_writes(inbox, "chat_load_pending")
        patch(pending, {"assignee_id": str(inbox.agents["Bob"]), "status": "pending"}, claims=inbox.claims("Ana"))
        resolved = customer_writes(inbox, "chat_load_resolved")
        patch(resolved, {"assignee_id": str(inbox.agents["Bob"]), "status": "resolved"}, claims=inbox.claims("Ana"))

        answer = call("GET", "/v1/agents", claims=inbox.claims("Ana"))

        assert answer.status == 200
        by_name = {agent["name"]: agent for agent in answer.body["agents"]}
        assert set(by_name) == {"Ana", "Bob"}
        assert by_name["Bob"]["open_conversations"] == 2 and by_name["Ana"]["open_conversations"] == 0
        assert by_name["Bob"]["availability"] == "offline" and by_name["Bob"]["email"].startswith("bob-")

    def test_an_agent_sets_their_own_availability(self, inbox):
        answer = call("PUT", "/v1/agents/me/availability", claims=inbox.claims("Ana"), body={"availability": "busy"})
        assert answer.status == 200 and answer.body["availability"] == "busy" and answer.body["name"] == "Ana"
        agents = call("GET", "/api/v1/agents", claims=inbox.claims("Bob")).body["agents"]
        assert {a["name"]: a["availability"] for a in agents} == {"Ana": "busy", "Bob": "offline"}

    @pytest.mark.parametrize(
        ("body", "error"),
        [
            ({"availability": "away"}, "availability: must be one of"),
            ({}, "availability: is required"),
            (None, "Request body is required"),
        ],
    )
    def test_a_bad_availability_is_a_400(self, inbox, body, error):
        answer = call("PUT", "/v1/agents/me/availability", claims=inbox.claims("Ana"), body=body)
        assert answer.status == 400 and error in answer.body["error"]

    def test_a_token_without_a_user_cannot_act_as_me(self, inbox, make_connector, admin):
        other = make_inbox(make_connector, admin, "Eve")
        service = call("PUT", "/v1/agents/me/availability", claims=inbox.claims(), body={"availability": "online"})
        # Another tenant's agent, with this tenant's claim: not a user of this tenant.
        foreign = {**inbox.claims(), "sub": str(other.agents["Eve"])}
        stranger = call("PUT", "/v1/agents/me/availability", claims=foreign, body={"availability": "online"})
        for answer in (service, stranger):
            assert answer.status == 403 and "cannot act as me" in answer.body["error"]
        assert admin.execute("SELECT availability FROM users WHERE id = %s", (other.agents["Eve"],)).fetchone() == (
            "offline",
        )

    def test_teams_with_members_and_settings(self, inbox, admin):
        add_team(admin, inbox, "Billing", "Ana", "Bob", auto_assign=True, max_open_per_agent=3)
        add_team(admin, inbox, "Empty")
        answer = call("GET", "/v1/teams", claims=inbox.claims("Ana"))
        assert answer.status == 200
        billing, empty = answer.body["teams"]
        assert billing["name"] == "Billing" and [m["name"] for m in billing["members"]] == ["Ana", "Bob"]
        assert billing["settings"] == {"auto_assign": True, "max_open_per_agent": 3}
        assert empty["members"] == [] and empty["settings"] == {"auto_assign": None, "max_open_per_agent": None}


class TestAnotherTenant:
    def test_another_tenant_s_token_sees_and_changes_nothing_of_this_one(self, inbox, make_connector, admin):
        other = make_inbox(make_connector, admin, "Eve")
        add_team(admin, inbox, "Billing", "Ana")
        conversation = customer_writes(inbox, "chat_isolated")

        for prefix in ("/v1", "/api/v1"):
            answer = patch(conversation, {"status": "resolved"}, claims=other.claims("Eve"), prefix=prefix)
            assert answer.status == 404 and answer.body == {"error": "Conversation not found"}
        assert [a["name"] for a in call("GET", "/v1/agents", claims=other.claims("Eve")).body["agents"]] == ["Eve"]
        assert call("GET", "/v1/teams", claims=other.claims("Eve")).body == {"teams": []}
        assert state(admin, conversation)["status"] == "open" and activity(admin, conversation) == []
        assert patch(99_999_999, {"status": "resolved"}, claims=inbox.claims("Ana")).status == 404


class TestAutoAssignment:
    def test_a_new_conversation_goes_to_the_online_agent_with_the_fewest_open(self, make_connector, admin):
        inbox = make_inbox(make_connector, admin, "Ana", "Bob", "Cy", online=True)
        admin.execute("UPDATE users SET availability = 'offline' WHERE id = %s", (inbox.agents["Cy"],))
        configure_tenant(admin, inbox, auto_assign=True, cap=2)
        # Ana already has one.
        first = customer_writes(inbox, "chat_auto_0")
        owner = state(admin, first)["assignee_id"]
        assert owner in (inbox.agents["Ana"], inbox.agents["Bob"])

        second = customer_writes(inbox, "chat_auto_1")
        assert state(admin, second)["assignee_id"] not in (owner, None)  # the other one, who had none
        assert activity(admin, second)[-1].startswith("Assigned to ") and activity(admin, second)[-1].endswith(
            " automatically"
        )
        customer_writes(inbox, "chat_auto_2"), customer_writes(inbox, "chat_auto_3")
        # Both are at the cap now: the next one waits, unassigned.
        waiting = customer_writes(inbox, "chat_auto_4")
        assert state(admin, waiting)["assignee_id"] is None
        assert loads(admin, inbox) == {"Ana": 2, "Bob": 2, "Cy": 0}

        # Cy comes online: the oldest waiting conversation is theirs.
        came_online = call(
            "PUT", "/v1/agents/me/availability", claims=inbox.claims("Cy"), body={"availability": "online"}
        )
        assert came_online.body["open_conversations"] == 1
        assert state(admin, waiting)["assignee_id"] == inbox.agents["Cy"]

    def test_freed_capacity_hands_out_the_queue_oldest_waiting_first(self, make_connector, admin):
        inbox = make_inbox(make_connector, admin, "Ana", online=True)
        configure_tenant(admin, inbox, auto_assign=True, cap=1)
        taken = customer_writes(inbox, "chat_q_0")
        older, newer = customer_writes(inbox, "chat_q_1"), customer_writes(inbox, "chat_q_2")
        assert state(admin, older)["assignee_id"] is None and state(admin, newer)["assignee_id"] is None

        assert patch(taken, {"status": "resolved"}, claims=inbox.claims("Ana")).status == 200

        assert state(admin, older)["assignee_id"] == inbox.agents["Ana"]
        assert state(admin, newer)["assignee_id"] is None

    def test_a_reopened_conversation_whose_assignee_is_offline_goes_to_an_online_agent(self, make_connector, admin):
        inbox = make_inbox(make_connector, admin, "Ana", "Bob")
        configure_tenant(admin, inbox, auto_assign=True, cap=None)
        conversation = customer_writes(inbox, "chat_reassign")
        patch(conversation, {"assignee_id": str(inbox.agents["Ana"]), "status": "resolved"}, claims=inbox.claims("Ana"))
        admin.execute("UPDATE users SET availability = 'online' WHERE id = %s", (inbox.agents["Bob"],))

        customer_writes(inbox, "chat_reassign")

        assert state(admin, conversation) | {"version": 0} == state(admin, conversation) | {
            "status": "open",
            "assignee_id": inbox.agents["Bob"],
            "version": 0,
        }
        assert activity(admin, conversation)[-2:] == [
            "Reopened: new message from the customer",
            "Assigned to Bob automatically",
        ]

    def test_a_team_with_its_own_setting_hands_its_conversations_to_its_members(self, make_connector, admin):
        inbox = make_inbox(make_connector, admin, "Ana", "Bob", online=True)
        configure_tenant(admin, inbox, auto_assign=False, cap=None)
        billing = add_team(admin, inbox, "Billing", "Bob", auto_assign=True, max_open_per_agent=5)
        conversation = customer_writes(inbox, "chat_team_auto")
        assert state(admin, conversation)["assignee_id"] is None  # the tenant does not auto-assign
        patch(conversation, {"team_id": str(billing)}, claims=inbox.claims("Ana"))
        assert state(admin, conversation)["assignee_id"] is None  # routing to a team is not a re-open

        patch(conversation, {"status": "resolved"}, claims=inbox.claims("Ana"))
        customer_writes(inbox, "chat_team_auto")

        assert state(admin, conversation)["assignee_id"] == inbox.agents["Bob"]

    def test_without_auto_assignment_nothing_is_assigned(self, make_connector, admin):
        inbox = make_inbox(make_connector, admin, "Ana", online=True)
        conversation = customer_writes(inbox, "chat_manual")
        assert state(admin, conversation)["assignee_id"] is None and activity(admin, conversation) == []

    def test_twenty_concurrent_auto_assignments_end_with_no_agent_over_the_cap(self, make_connector, admin):
        inbox = make_inbox(make_connector, admin, "Ana", "Bob", "Cy", online=True)
        configure_tenant(admin, inbox, auto_assign=True, cap=4)
        barrier = threading.Barrier(20)

        def new_conversation(n: int) -> int:
            barrier.wait()  # all twenty ingests race for the same three agents
            return customer_writes(inbox, f"chat_race_{n}", phone=f"+1555700{n:04d}")

        with ThreadPoolExecutor(max_workers=20) as pool:
            conversations = list(pool.map(new_conversation, range(20)))

        assert loads(admin, inbox) == {"Ana": 4, "Bob": 4, "Cy": 4}
        assigned = [c for c in conversations if state(admin, c)["assignee_id"] is not None]
        assert len(assigned) == 12
        # Each assignment wrote exactly one activity message; the eight others wait unassigned, with none.
        assert sum(len(activity(admin, c)) for c in conversations) == 12


class TestRealtime:
    def test_each_change_is_pushed_to_the_conversation_and_the_inbox_feed(self, make_connector, admin, management_api):
        inbox = make_inbox(make_connector, admin, "Ana", "Bob")
        conversation = customer_writes(inbox, "chat_frames")
        watcher = subscribe(admin, inbox.tenant_id, ("conversation", conversation), ("inbox", "tenant"))

        patch(conversation, {"assignee_id": str(inbox.agents["Bob"])}, claims=inbox.claims("Ana"))
        patch(conversation, {"status": "resolved"}, claims=inbox.claims("Ana"))
        customer_writes(inbox, "chat_frames")  # re-opens it

        frames = management_api(watcher)
        updated = [f for f in frames if f["type"] == "conversation_updated"]
        # Each frame carries the seq of the event of its change (the event with the frame's version)
        for frame in updated:
            event = admin.execute(
                "SELECT max(seq) FROM events WHERE conversation_id = %s AND (data ->> 'version')::bigint = %s",
                (conversation, frame["version"]),
            ).fetchone()
            assert frame.pop("seq") == event[0] is not None
        ana = {"id": str(inbox.agents["Ana"]), "name": "Ana"}
        assert updated == [
            {
                "type": "conversation_updated",
                "conversationId": conversation,
                "changes": {
                    "assignee_id": str(inbox.agents["Bob"]),
                    "assignee": {"id": str(inbox.agents["Bob"]), "name": "Bob", "avatar_url": None},
                },
                "by": ana,
                "version": 2,
            },
            {
                "type": "conversation_updated",
                "conversationId": conversation,
                "changes": {"status": "resolved", "snoozed_until": None},
                "by": ana,
                "version": 3,
            },
            {
                "type": "conversation_updated",
                "conversationId": conversation,
                "changes": {"status": "open", "snoozed_until": None},
                "by": None,
                "version": 4,
            },
        ]
        feed = [(f["event"], f["conversationId"], f["by"]) for f in frames if f["type"] == "inbox_conversation"]
        assert feed == [
            ("assigned", conversation, ana),
            ("updated", conversation, ana),
            ("reopened", conversation, None),
        ]
        pushed_activity = [
            f["message"]["content"]
            for f in frames
            if f["type"] == "conversation_message" and f["message"]["source"] == "activity"
        ]
        assert pushed_activity == [
            "Ana assigned this to Bob",
            "Resolved by Ana",
            "Reopened: new message from the customer",
        ]

    def test_the_inbox_feed_hears_new_conversations_and_auto_assignments_and_only_its_own_tenant_s(
        self, make_connector, admin, management_api
    ):
        inbox = make_inbox(make_connector, admin, "Ana", online=True)
        other = make_inbox(make_connector, admin, "Eve", online=True)
        configure_tenant(admin, inbox, auto_assign=True, cap=None)
        watcher = subscribe(admin, inbox.tenant_id, ("inbox", "tenant"))
        outsider = subscribe(admin, other.tenant_id, ("inbox", "tenant"))

        conversation = customer_writes(inbox, "chat_new_feed")

        frames = [f for f in management_api(watcher) if f["type"] == "inbox_conversation"]
        assert [(f["event"], f["by"]) for f in frames] == [("created", None), ("assigned", None)]
        assert frames[1]["conversationId"] == conversation
        assert frames[1]["changes"]["assignee"]["name"] == "Ana"
        assert management_api(outsider) == []

    def test_the_publish_hook_reaches_inbox_subscribers(self, make_connector, admin, management_api):
        from threadline.realtime.frames import inbox_counts_frame_of
        from threadline.realtime.publisher import publish_inbox_event

        inbox = make_inbox(make_connector, admin, "Ana")
        watcher = subscribe(admin, inbox.tenant_id, ("inbox", "tenant"))
        publish_inbox_event(inbox.tenant_id, inbox_counts_frame_of([]))
        # A frame of no change has no event, so no seq
        nothing = {"all": 0, "unassigned": 0, "assignees": {}, "teams": {}}
        assert management_api(watcher) == [
            {
                "type": "inbox_counts",
                "counts": {"open": nothing, "pending": nothing, "snoozed": nothing, "resolved": nothing},
                "seq": None,
            }
        ]
