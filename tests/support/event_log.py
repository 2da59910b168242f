"""Reading a tenant's event log through its route, as a client catching up does; every event read is held to its
type's data model (tests/support/contracts.py)."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from tests.support.contracts import checked_event
from tests.support.inbox import Answer
from tests.support.routes import route_response


def read_events(claims: dict[str, str], prefix: str = "/v1", **query: Any) -> Answer:
    response = route_response(
        "GET", f"{prefix}/events", claims=claims, query={name: str(value) for name, value in query.items()}
    )
    answer = Answer(response["statusCode"], json.loads(response["body"]), dict(response.get("headers") or {}))
    if answer.status == 200:
        for event in answer.body["events"]:
            checked_event(event)
    return answer


def all_events(claims: dict[str, str], *, after: int = 0, **query: Any) -> list[dict[str, Any]]:
    """Every event after `after`, page by page (a page of 500 at most)."""
    events: list[dict[str, Any]] = []
    while True:
        answer = read_events(claims, after=after, limit=500, **query)
        assert answer.status == 200, answer.body
        page = answer.body["events"]
        events += page
        if len(page) < 500:
            return events
        after = answer.body["next_after"]


def close_window_and_run_the_expiry_job(
    admin: psycopg.Connection[Any], conversation_id: int, *, announce: bool = False
) -> None:
    """The conversation's window (0018: the window is the conversation's) closed after the job's last run and beyond
    its settling minute (the mark is the database's, shared with every test before this one); then the scheduled
    job runs (twice: the second notices nothing new), appending window.closed and, with `announce`, telling the
    conversation's subscribers (a conversation_window frame)."""
    from threadline.domain.replies.expiry import announce_expired_windows, expire_closed_windows

    expire_closed_windows(on_windows_expired=None)  # caught up: only this test's window is new
    admin.execute(
        "UPDATE conversations v SET window_expires_at = p.expired_through + (now() - interval '1 minute'"
        " - p.expired_through) / 2 FROM window_expiry_progress p WHERE v.id = %s",
        (conversation_id,),
    )
    for _ in range(2):
        expire_closed_windows(on_windows_expired=announce_expired_windows if announce else None)
