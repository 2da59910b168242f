"""Who is calling: a domain value. Handlers build it from what API Gateway verified (threadline.http.auth); the
domain only ever sees this."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Caller:
    tenant_id: UUID
    # The agent's user id (the token's `sub`), when it is a UUID of ours; service tokens may carry none.
    user_id: UUID | None
    # How the token names its bearer (threadline.http.auth.NAME_CLAIMS, first present), for messages that show
    # who sent them.
    token_name: str | None = None


@dataclass(frozen=True)
class Actor:
    """Who made a change, as activity messages and `conversation_updated` frames name them (None = the system)."""

    id: UUID
    name: str
