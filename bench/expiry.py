"""The scheduled window expiry over 1,000,000 closed windows: one run of the real handler, against a 5 s target.

The database holds 100 tenants and 1,100,000 contacts: 1,000,000 whose window closed at a random moment of the last
24 hours (the job last ran a day ago: a backlog, the worst case), 50,000 whose window is still open and 50,000 who
never wrote; about a third of the contacts have a conversation, some two. The window trigger sets every closing time
(24 hours after the last inbound message), exactly as ingest and the webhook leave them.

Timed, each after a checkpoint:

- backlog: the ExpireWindowsFunction handler with the sample scheduled event, as Lambda would call it, connected as
  threadline_app (the SECURITY DEFINER batch function, RLS in place);
- nothing due: the same handler again at once;
- steady state: 3,500 windows (a million a day, in five minutes) closed since the last run;
- baseline: marking each of the same million windows on its contact row (one plain `UPDATE` as the owner), which
  is what a design with a stored status per window would do: the floor for any design that writes a row per closed window.

Run: `make bench-expiry` (or `.venv/bin/python -m bench.expiry`). Prints figures; asserts nothing about timings.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import Any

import psycopg

from bench.common import print_header, print_table, ratio, throwaway_database
from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.paths import REPO_ROOT
from devtools.template import load_template

TENANTS = 100
CLOSED_WINDOWS = 1_000_000
OPEN_WINDOWS = 50_000
NEVER_WROTE = 50_000
CONVERSATION_SHARE = 0.3
SECOND_CONVERSATION_SHARE = 0.05
STEADY_STATE_WINDOWS = 3_500
TARGET_SECONDS = 5.0
FUNCTION = "ExpireWindowsFunction"
EVENT_FILE = REPO_ROOT / "events" / "scheduled-window-expiry.json"

_INSERT_CONTACTS = """
INSERT INTO contacts (tenant_id, identifier, phone_digits, name, last_interaction_at)
SELECT (%(tenants)s::uuid[])[1 + g %% %(tenant_count)s], '+1555' || lpad(g::text, 8, '0'),
       '1555' || lpad(g::text, 8, '0'), 'Customer ' || g, last_inbound_at
FROM (SELECT g, now() - %(inbound_from)s::interval - random() * %(inbound_spread)s::interval AS last_inbound_at
      FROM generate_series(%(first)s, %(last)s) g) s
"""


@dataclass
class Run:
    label: str
    contacts_expired: int
    conversations_affected: int
    batches: int | None
    seconds: float

    def row(self) -> list[object]:
        return [
            self.label,
            self.contacts_expired,
            self.conversations_affected,
            "-" if self.batches is None else self.batches,
            self.seconds,
            ratio(self.contacts_expired, self.seconds),
        ]


@dataclass(frozen=True)
class Arranged:
    contacts: int
    conversations: int
    due_conversations: int
    seconds: float


# ---------------------------------------------------------------------------------------------------------------
# Arranging
# ---------------------------------------------------------------------------------------------------------------


def scalar(admin: psycopg.Connection[Any], query: str, params: Any = None) -> Any:
    row = admin.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def arrange(admin: psycopg.Connection[Any]) -> Arranged:
    started = time.perf_counter()
    tenants = [
        row[0]
        for row in admin.execute(
            "INSERT INTO tenants (name) SELECT 'bench tenant ' || g FROM generate_series(1, %s) g RETURNING id",
            (TENANTS,),
        )
    ]
    shared = {"tenants": tenants, "tenant_count": TENANTS}
    # The job last ran a day ago, before any of these windows closed (set first: arranging takes a minute or more).
    admin.execute("UPDATE window_expiry_progress SET expired_through = now() - interval '24 hours'")
    # Windows that closed during the last day (more than the job's settling minute ago), windows still open, then
    # contacts who never wrote (no window at all).
    admin.execute(
        _INSERT_CONTACTS,
        shared
        | {"inbound_from": "24 hours 2 minutes", "inbound_spread": "23 hours 57 minutes"}
        | {"first": 1, "last": CLOSED_WINDOWS},
    )
    admin.execute(
        _INSERT_CONTACTS,
        shared
        | {"inbound_from": "1 minute", "inbound_spread": "23 hours"}
        | {"first": CLOSED_WINDOWS + 1, "last": CLOSED_WINDOWS + OPEN_WINDOWS},
    )
    admin.execute(
        "INSERT INTO contacts (tenant_id, identifier, name)"
        " SELECT (%(tenants)s::uuid[])[1 + g %% %(tenant_count)s], '@bench_user_' || g, 'User ' || g"
        " FROM generate_series(1, %(count)s) g",
        shared | {"count": NEVER_WROTE},
    )
    for platform, share in (("whatsapp", CONVERSATION_SHARE), ("telegram", SECOND_CONVERSATION_SHARE)):
        admin.execute(
            "INSERT INTO conversations (tenant_id, platform, external_conversation_id, contact_id, last_message_at)"
            " SELECT tenant_id, %s, 'chat_' || identifier, id, last_interaction_at FROM contacts WHERE random() < %s",
            (platform, share),
        )
    admin.execute("VACUUM ANALYZE contacts")
    admin.execute("VACUUM ANALYZE conversations")
    return Arranged(
        contacts=scalar(admin, "SELECT count(*) FROM contacts"),
        conversations=scalar(admin, "SELECT count(*) FROM conversations"),
        due_conversations=scalar(
            admin,
            "SELECT count(*) FROM conversations v JOIN contacts c ON c.id = v.contact_id"
            " WHERE c.window_expires_at <= now()",
        ),
        seconds=time.perf_counter() - started,
    )


def contact_states(admin: psycopg.Connection[Any]) -> dict[str, int]:
    """Contacts by window: still open, closed and noticed (at or before the job's mark), closed and not yet noticed."""
    rows = admin.execute(
        "SELECT CASE WHEN c.window_expires_at IS NULL THEN 'no window' WHEN c.window_expires_at > now() THEN 'open'"
        " WHEN c.window_expires_at <= p.expired_through THEN 'closed, noticed' ELSE 'closed, not noticed' END,"
        " count(*) FROM contacts c, window_expiry_progress p GROUP BY 1"
    ).fetchall()
    return dict(rows)


def job_mark(admin: psycopg.Connection[Any]) -> Any:
    return scalar(admin, "SELECT expired_through FROM window_expiry_progress")


def windows_between(admin: psycopg.Connection[Any], after: Any, until: Any) -> int:
    return int(
        scalar(
            admin,
            "SELECT count(*) FROM contacts WHERE window_expires_at > %s AND window_expires_at <= %s",
            (after, until),
        )
    )


# ---------------------------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------------------------


def run_handler(handler: Any, event: dict[str, Any], label: str) -> Run:
    context = LocalLambdaContext(function_name=FUNCTION, timeout_seconds=120)
    with open(os.devnull, "w") as devnull, redirect_stdout(devnull):  # the EMF metrics line
        started = time.perf_counter()
        outcome = handler(event, context)
        seconds = time.perf_counter() - started
    return Run(label, outcome["contacts_expired"], outcome["conversations_affected"], outcome["batches"], seconds)


def steady_state_slice(admin: psycopg.Connection[Any]) -> None:
    """STEADY_STATE_WINDOWS windows closed during the five minutes since a run five minutes ago."""
    admin.execute(
        "UPDATE contacts SET window_expires_at = now() - interval '1 minute' - random() * interval '5 minutes'"
        " WHERE id IN (SELECT id FROM contacts WHERE window_expires_at < now() - interval '1 hour' LIMIT %s)",
        (STEADY_STATE_WINDOWS,),
    )
    admin.execute("UPDATE window_expiry_progress SET expired_through = now() - interval '6 minutes'")


def plain_update_baseline(admin: psycopg.Connection[Any], after: Any, until: Any) -> Run:
    """The same windows marked one row at a time, as the owner: the write this design does not make."""
    admin.execute("CHECKPOINT")
    started = time.perf_counter()
    with admin.transaction():
        cursor = admin.execute(
            "UPDATE contacts SET updated_at = now() WHERE window_expires_at > %s AND window_expires_at <= %s",
            (after, until),
        )
    return Run("baseline: a row written per window (owner)", cursor.rowcount, 0, None, time.perf_counter() - started)


def main() -> None:
    event = json.loads(EVENT_FILE.read_text("utf-8"))
    with throwaway_database() as url, psycopg.connect(url, autocommit=True) as admin:
        handler = load_handler(load_template().functions[FUNCTION])
        from threadline.observability import logger

        logger.setLevel("WARNING")  # the run's summary line: the table below says the same
        arranged = arrange(admin)
        before = contact_states(admin)

        # A warm container: the connection is open before the timed run, as on every scheduled run but the first.
        from threadline.db.tenancy import run_in_transaction

        run_in_transaction(lambda conn: conn.execute("SELECT 1"))
        admin.execute("CHECKPOINT")
        backlog_from = job_mark(admin)
        backlog = run_handler(handler, event, f"backlog: {FUNCTION} handler")
        backlog_until = job_mark(admin)
        after = contact_states(admin)
        nothing_due = run_handler(handler, event, "nothing due: the handler again")

        steady_state_slice(admin)
        admin.execute("VACUUM ANALYZE contacts")
        admin.execute("CHECKPOINT")
        steady_from = job_mark(admin)
        steady = run_handler(handler, event, "steady state: 5 minutes of windows")
        steady_due = windows_between(admin, steady_from, job_mark(admin))

        baseline = plain_update_baseline(admin, backlog_from, backlog_until)

    print_header(f"Window expiry: one run over {CLOSED_WINDOWS:,} closed windows")
    print(
        f"   {arranged.contacts:,} contacts in {TENANTS} tenants ({CLOSED_WINDOWS:,} windows closed in the last 24 h"
        f" since the job's last run, {OPEN_WINDOWS:,} open, {NEVER_WROTE:,} never wrote);"
        f" {arranged.conversations:,} conversations, {arranged.due_conversations:,} of them with a closed window"
        f" [arranged in {arranged.seconds:.1f} s]"
    )
    print()
    print_table(
        ["run", "contacts expired", "conversations", "batches", "seconds", "contacts/s"],
        [run.row() for run in (backlog, nothing_due, steady, baseline)],
    )
    print()
    correct = (
        backlog.contacts_expired == CLOSED_WINDOWS
        and backlog.conversations_affected == arranged.due_conversations
        and before.get("closed, not noticed") == CLOSED_WINDOWS
        and after.get("closed, noticed") == CLOSED_WINDOWS
        and after.get("closed, not noticed", 0) == 0
        and after.get("open") == before.get("open") == OPEN_WINDOWS
        and after.get("no window") == NEVER_WROTE
        and nothing_due.contacts_expired == 0
        and steady.contacts_expired == steady_due >= STEADY_STATE_WINDOWS
    )
    print(
        "checked: every closed window noticed once, open windows and windowless contacts untouched,"
        f" the second run found nothing: {'yes' if correct else 'NO'}  (contacts before {before}, after {after})"
    )
    met = backlog.seconds < TARGET_SECONDS
    print(
        f"target: one run over {CLOSED_WINDOWS:,} closed windows in < {TARGET_SECONDS:.0f} s:"
        f" {backlog.seconds:.2f} s  {'PASS' if met else 'FAIL'}"
    )
    print(f"handler / a row written per window: {ratio(backlog.seconds, baseline.seconds):.2f}")


if __name__ == "__main__":
    main()
