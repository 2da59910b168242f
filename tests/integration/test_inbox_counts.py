"""The inbox counts stay exact across every kind of change: conversations created by ingest, status changes,
assignment, team changes, deletion, an agent or team deleted, compaction, concurrent writers. Each change is made
as the other parts of the product make it (ingest through its handler; the rest as the owner's raw UPDATEs and
DELETEs), and each time the answer is compared with an exact count(*) of the same rows."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg
import pytest

from devtools.gateway import LocalGateway
from tests.support.ingest import message
from tests.support.read import add_agent, chat, claims_for, ingest, make_tenant
from tests.support.routes import call_route

STATUSES = ("open", "pending", "snoozed", "resolved")


def counts(claims: dict[str, str], query: dict[str, str] | None = None, prefix: str = "/v1") -> dict[str, Any]:
    status, body = call_route("GET", f"{prefix}/conversations/counts", claims=claims, query=query)
    assert status == 200, body
    return body


class Tenant:
    def __init__(self, admin: Any, make_connector: Any) -> None:
        self.admin = admin
        self.tenant = make_tenant(make_connector)
        self.ana = add_agent(admin, self.tenant, "Ana")
        self.bob = add_agent(admin, self.tenant, "Bob")
        self.team = self.make_team("Billing")
        self.ana_claims = claims_for(self.tenant.id, self.ana)
        self.serial = 0

    def make_team(self, name: str) -> uuid.UUID:
        return self.admin.execute(
            "INSERT INTO teams (tenant_id, name) VALUES (%s, %s) RETURNING id", (self.tenant.id, name)
        ).fetchone()[0]

    def ingest(self, count: int) -> list[int]:
        chats = []
        for _ in range(count):
            self.serial += 1
            chats.append(
                chat(f"c{self.serial}", f"+1555{self.serial:07d}", message(f"m{self.serial}", "2026-02-01T10:00:00Z"))
            )
        return ingest(self.tenant, *chats)

    def exact(self, statuses: tuple[str, ...] = ("open",)) -> dict[str, Any]:
        """The same numbers by count(*), as the owner."""
        row = self.admin.execute(
            """
            SELECT count(*) FILTER (WHERE assignee_id = %(ana)s), count(*) FILTER (WHERE assignee_id IS NULL), count(*)
            FROM conversations WHERE tenant_id = %(tenant)s AND platform <> 'workspace' AND status = ANY(%(statuses)s)
            """,
            {"tenant": self.tenant.id, "ana": self.ana, "statuses": list(statuses)},
        ).fetchone()
        teams = self.admin.execute(
            """
            SELECT t.id, t.name, count(c.id), count(c.id) FILTER (WHERE c.assignee_id IS NULL)
            FROM teams t LEFT JOIN conversations c ON c.team_id = t.id AND c.status = ANY(%(statuses)s)
            WHERE t.tenant_id = %(tenant)s GROUP BY t.id, t.name ORDER BY t.name, t.id
            """,
            {"tenant": self.tenant.id, "statuses": list(statuses)},
        ).fetchall()
        return {
            "status": list(statuses),
            "mine": row[0],
            "unassigned": row[1],
            "all": row[2],
            "teams": [{"id": str(t[0]), "name": t[1], "all": t[2], "unassigned": t[3]} for t in teams],
        }

    def assert_exact(self) -> None:
        for statuses in (("open",), ("pending",), ("snoozed",), ("resolved",), ("open", "pending")):
            query = {"status": ",".join(statuses), "teams": "true"}
            assert counts(self.ana_claims, query) == self.exact(statuses), statuses

    def update(self, sql: str, *params: Any) -> None:
        self.admin.execute(sql, params)


@pytest.fixture
def inbox(admin, make_connector) -> Tenant:
    return Tenant(admin, make_connector)


class TestExactAcrossEveryChange:
    def test_ingest_creating_conversations(self, inbox):
        assert counts(inbox.ana_claims) == {"status": ["open"], "mine": 0, "unassigned": 0, "all": 0, "teams": None}
        inbox.ingest(3)
        inbox.ingest(2)
        inbox.assert_exact()
        assert counts(inbox.ana_claims)["all"] == 5

    def test_an_ingest_of_existing_conversations_changes_nothing(self, inbox):
        ids = inbox.ingest(2)
        before = counts(inbox.ana_claims)
        ingest(inbox.tenant, chat("c1", "+15550000001", message("again", "2026-02-01T11:00:00Z")))
        assert counts(inbox.ana_claims) == before and len(ids) == 2

    def test_status_changes(self, inbox):
        ids = inbox.ingest(6)
        inbox.update("UPDATE conversations SET status = 'resolved' WHERE id = ANY(%s)", ids[:2])
        inbox.update("UPDATE conversations SET status = 'pending' WHERE id = %s", ids[2])
        inbox.update("UPDATE conversations SET status = 'snoozed' WHERE id = %s", ids[3])
        inbox.update("UPDATE conversations SET status = 'open' WHERE id = %s", ids[0])  # re-opened
        inbox.update("UPDATE conversations SET status = status WHERE id = ANY(%s)", ids)  # no change at all
        inbox.assert_exact()
        assert counts(inbox.ana_claims, {"status": "resolved"})["all"] == 1

    def test_assignment_and_reassignment(self, inbox):
        ids = inbox.ingest(5)
        inbox.update("UPDATE conversations SET assignee_id = %s WHERE id = ANY(%s)", inbox.ana, ids[:3])
        inbox.update("UPDATE conversations SET assignee_id = %s WHERE id = %s", inbox.bob, ids[0])
        inbox.update("UPDATE conversations SET assignee_id = NULL WHERE id = %s", ids[1])
        inbox.assert_exact()
        assert counts(inbox.ana_claims) | {"teams": None} == {
            "status": ["open"],
            "mine": 1,
            "unassigned": 3,
            "all": 5,
            "teams": None,
        }

    def test_team_changes_and_status_with_assignment_in_one_update(self, inbox):
        ids = inbox.ingest(4)
        support = inbox.make_team("Support")
        inbox.update("UPDATE conversations SET team_id = %s WHERE id = ANY(%s)", inbox.team, ids[:3])
        inbox.update(
            "UPDATE conversations SET team_id = %s, assignee_id = %s WHERE id = %s", support, inbox.ana, ids[0]
        )
        inbox.update(
            "UPDATE conversations SET status = 'resolved', assignee_id = %s, team_id = NULL WHERE id = %s",
            inbox.bob,
            ids[1],
        )
        inbox.assert_exact()
        teams = {team["name"]: team for team in counts(inbox.ana_claims, {"teams": "true"})["teams"]}
        assert teams["Billing"]["all"] == 1 and teams["Support"] == {
            "id": str(support),
            "name": "Support",
            "all": 1,
            "unassigned": 0,
        }

    def test_deletion(self, inbox):
        ids = inbox.ingest(4)
        inbox.update(
            "UPDATE conversations SET assignee_id = %s, team_id = %s WHERE id = %s", inbox.ana, inbox.team, ids[0]
        )
        inbox.update("DELETE FROM conversations WHERE id = ANY(%s)", ids[:2])
        inbox.assert_exact()
        assert counts(inbox.ana_claims)["all"] == 2

    def test_an_agent_or_team_deleted_unassigns_through_the_foreign_keys(self, inbox):
        ids = inbox.ingest(3)
        inbox.update(
            "UPDATE conversations SET assignee_id = %s, team_id = %s WHERE id = ANY(%s)", inbox.bob, inbox.team, ids
        )
        inbox.update("DELETE FROM teams WHERE id = %s", inbox.team)
        inbox.update("DELETE FROM users WHERE id = %s", inbox.bob)
        inbox.assert_exact()
        assert counts(inbox.ana_claims)["unassigned"] == 3

    def test_workspace_sessions_are_not_inbox_conversations(self, inbox):
        inbox.ingest(1)
        inbox.update(
            "INSERT INTO conversations (tenant_id, platform, external_conversation_id) VALUES (%s, 'workspace', 's1')",
            inbox.tenant.id,
        )
        inbox.assert_exact()
        assert counts(inbox.ana_claims)["all"] == 1

    def test_compaction_keeps_every_sum_and_shrinks_the_ledger(self, inbox, admin):
        ids = inbox.ingest(5)
        for index, conversation_id in enumerate(ids):
            inbox.update(
                "UPDATE conversations SET status = %s, assignee_id = %s WHERE id = %s",
                STATUSES[index % 4],
                inbox.ana if index % 2 else None,
                conversation_id,
            )
            inbox.update("UPDATE conversations SET status = 'open' WHERE id = %s", conversation_id)
        before = counts(inbox.ana_claims, {"status": "open,resolved", "teams": "true"})
        rows = admin.execute(
            "SELECT count(*) FROM inbox_count_deltas WHERE tenant_id = %s", (inbox.tenant.id,)
        ).fetchone()[0]

        from devtools.lambda_runtime import LocalLambdaContext, load_handler
        from devtools.template import load_template
        from tests.support.paths import load_event

        handler = load_handler(load_template().functions["ExpireWindowsFunction"])
        outcome = handler(load_event("scheduled-window-expiry.json"), LocalLambdaContext("ExpireWindowsFunction"))
        assert outcome["inbox_counts"]["rows_before"] >= rows

        after_rows = admin.execute(
            "SELECT count(*) FROM inbox_count_deltas WHERE tenant_id = %s", (inbox.tenant.id,)
        ).fetchone()[0]
        assert after_rows == 2 < rows  # (open, Ana) and (open, unassigned)
        assert counts(inbox.ana_claims, {"status": "open,resolved", "teams": "true"}) == before
        inbox.assert_exact()

    def test_concurrent_writers_never_deadlock_and_stay_exact(self, inbox, database_url):
        ids = inbox.ingest(40)
        errors: list[BaseException] = []

        def churn(order: list[int], agent: uuid.UUID) -> None:
            try:
                with psycopg.connect(database_url) as conn:
                    for conversation_id in order:
                        conn.execute(
                            "UPDATE conversations SET assignee_id = %s, status = 'pending' WHERE id = %s",
                            (agent, conversation_id),
                        )
                    conn.commit()
            except BaseException as error:
                errors.append(error)

        threads = [
            threading.Thread(target=churn, args=(ids[:20], inbox.ana)),
            threading.Thread(target=churn, args=(ids[20:], inbox.bob)),
            threading.Thread(target=lambda: inbox.ingest(10)),
            threading.Thread(target=lambda: inbox.ingest(10)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        inbox.assert_exact()


class TestTheRoute:
    def test_both_paths_and_the_default_status(self, inbox):
        inbox.ingest(2)
        assert (
            counts(inbox.ana_claims, prefix="/api/v1")
            == counts(inbox.ana_claims)
            == {
                "status": ["open"],
                "mine": 0,
                "unassigned": 2,
                "all": 2,
                "teams": None,
            }
        )

    def test_a_token_without_an_agent_has_no_mine(self, inbox):
        inbox.ingest(1)
        assert counts(inbox.tenant.claims)["mine"] is None

    def test_another_tenants_token_sees_its_own_zeros(self, inbox, make_connector):
        inbox.ingest(3)
        other = make_tenant(make_connector)
        assert counts(other.claims, {"teams": "true"}) | {"mine": None} == {
            "status": ["open"],
            "mine": None,
            "unassigned": 0,
            "all": 0,
            "teams": [],
        }

    @pytest.mark.parametrize(
        ("query", "error"),
        [
            ({"status": "closed"}, "status must be one of open, pending, snoozed, resolved (or a comma list of them)"),
            ({"teams": "maybe"}, "teams must be true or false"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_parameter(self, inbox, query, error):
        assert call_route("GET", "/v1/conversations/counts", claims=inbox.ana_claims, query=query) == (
            400,
            {"error": error},
        )

    def test_the_literal_path_wins_over_the_conversation_id_in_the_local_gateway(self, inbox):
        """API Gateway prefers `/v1/conversations/counts` to `/v1/conversations/{id}`; so must `make dev`."""
        import requests

        from devtools.auth import issue_token

        inbox.ingest(1)
        server = LocalGateway(("127.0.0.1", 0), websocket_port=0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            token = issue_token(tenant_id=str(inbox.tenant.id), user_id=str(inbox.ana))
            for prefix in ("/v1", "/api/v1"):
                response = requests.get(
                    f"{server.base_url}{prefix}/conversations/counts",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=20,
                )
                assert response.status_code == 200 and response.json()["all"] == 1, response.text
        finally:
            server.shutdown()
            server.server_close()
