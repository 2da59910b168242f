"""Who works the inbox: agents and their availability, teams (`GET /v1/agents`, `PUT /v1/agents/me/availability`,
`GET /v1/teams`), and how a conversation names its assignee and team."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from threadline.vocabulary import Availability

# The inbox's request bodies are a few fields: anything near this size is a mistake.
INBOX_BODY_MAX_BYTES = 16_384


class AssigneeSummary(BaseModel):
    """The agent a conversation is assigned to."""

    id: UUID
    name: str
    avatar_url: str | None


class TeamSummary(BaseModel):
    id: UUID
    name: str


class Agent(BaseModel):
    id: UUID
    name: str
    email: str | None
    avatar_url: str | None
    availability: Availability
    open_conversations: int = Field(
        description="conversations assigned to the agent that are open or pending (their load; the auto-assignment"
        " cap counts these)"
    )


class AgentList(BaseModel):
    agents: list[Agent]


class AvailabilityChange(BaseModel):
    """`PUT /v1/agents/me/availability`: whether the calling agent takes new conversations now."""

    model_config = ConfigDict(extra="forbid")

    availability: Availability


class AssignmentSettings(BaseModel):
    auto_assign: bool | None = Field(description="null: the tenant's setting applies")
    max_open_per_agent: int | None = Field(description="null: the tenant's cap (or none) applies")


class TeamMember(BaseModel):
    id: UUID
    name: str
    availability: Availability


class Team(BaseModel):
    id: UUID
    name: str
    members: list[TeamMember]
    settings: AssignmentSettings


class TeamList(BaseModel):
    teams: list[Team]
