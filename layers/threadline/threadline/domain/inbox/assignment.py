"""The tenant's agents and teams, and an agent's own availability (the agent and team routes).

Handing conversations to agents is threadline.domain.inbox.auto_assignment's: coming online hands the agent the waiting
queue from there.
"""

from __future__ import annotations

from typing import Any

import psycopg

from threadline.caller import Caller
from threadline.db.repositories.assignment import list_agents, list_teams, set_availability
from threadline.db.tenancy import run_in_transaction
from threadline.domain.inbox.auto_assignment import hand_out_queue
from threadline.errors import Forbidden
from threadline.models.ownership import (
    Agent,
    AgentList,
    AssignmentSettings,
    AvailabilityChange,
    Team,
    TeamList,
    TeamMember,
)

NO_AGENT_MESSAGE = (
    "This token names no agent of this tenant (its sub is not one of the tenant's users), so it cannot act as me"
)


def list_tenant_agents(caller: Caller) -> AgentList:
    rows = run_in_transaction(lambda conn: list_agents(conn, caller.tenant_id), tenant_id=caller.tenant_id)
    return AgentList(agents=[Agent(**vars(row)) for row in rows])


def list_tenant_teams(caller: Caller) -> TeamList:
    rows = run_in_transaction(lambda conn: list_teams(conn, caller.tenant_id), tenant_id=caller.tenant_id)
    return TeamList(
        teams=[
            Team(
                id=row.id,
                name=row.name,
                members=[TeamMember(**member) for member in row.members],
                settings=AssignmentSettings(auto_assign=row.auto_assign, max_open_per_agent=row.max_open_per_agent),
            )
            for row in rows
        ]
    )


def change_my_availability(caller: Caller, change: AvailabilityChange) -> Agent:
    """The calling agent's availability; coming online hands them waiting conversations."""
    if caller.user_id is None:
        raise Forbidden(NO_AGENT_MESSAGE)
    user_id = caller.user_id

    def work(conn: psycopg.Connection[Any]) -> Any:
        previous = set_availability(conn, user_id, change.availability)
        if previous is None:
            raise Forbidden(NO_AGENT_MESSAGE)
        return previous

    previous = run_in_transaction(work, tenant_id=caller.tenant_id)
    if change.availability == "online" and previous != "online":
        hand_out_queue(caller.tenant_id)
    agents = run_in_transaction(lambda conn: list_agents(conn, caller.tenant_id), tenant_id=caller.tenant_id)
    return next(Agent(**vars(agent)) for agent in agents if agent.id == user_id)
