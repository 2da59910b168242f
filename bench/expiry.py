"""The scheduled window expiry over 1,000,000 closed windows: one run of the real handler, against a 5 s target.

The database holds 100 tenants and 1,100,000 contacts: 1,000,000 whose window closed at a random moment of the last
24 hours (the job last ran a day ago: a backlog, the worst case), 50,000 whose window is still open and 50,000 who
never wrote; about a third of the contacts have a conversation, some two. The closed windows are loaded as the
owner with the window trigger off, as the trigger left them a day ago: open, closing 24 hours after the last
inbound message.

Timed, each after a checkpoint (so every page written pays its full-page image, as right after one in production):

- backlog: the ExpireWindowsFunction handler with the sample scheduled event, as Lambda would call it, connected as
  threadline_app (the SECURITY DEFINER batch function, RLS in place);
- nothing due: the same handler again at once;
- steady state: 3,500 windows (a million a day, in five minutes) closed since the last run;
- baseline: one plain `UPDATE contacts SET window_status = 'expired' WHERE ...` of the same million rows as the
  owner, after they were put back to open: the floor for flipping a million rows on this machine.

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
INSERT INTO contacts (tenant_id, identifier, phone_digits, name, last_interaction_at, window_expires_at, window_status)
SELECT (%(tenants)s::uuid[])[1 + g %% %(tenant_count)s], '+1555' || lpad(g::text, 8, '0'),
       '1555' || lpad(g::text, 8, '0'), 'Customer ' || g, last_inbound_at,
       CASE WHEN %(as_closed)s THEN last_inbound_at + interval '24 hours' END,
       CASE WHEN %(as_closed)s THEN 'open' END
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
    with admin.transaction():
        # Closed windows, as the trigger left them when each contact's last message arrived a day ago: still marked
        # open. With the trigger on, an insert today would mark them expired at once.
        admin.execute("ALTER TABLE contacts DISABLE TRIGGER contacts_open_window")
        admin.execute(
            _INSERT_CONTACTS,
            shared
            | {"as_closed": True, "inbound_from": "24 hours 1 minute", "inbound_spread": "23 hours 58 minutes"}
            | {"first": 1, "last": CLOSED_WINDOWS},
        )
        admin.execute("ALTER TABLE contacts ENABLE TRIGGER contacts_open_window")
    # Windows still open (set by the trigger), then contacts who never wrote (no window at all).
    admin.execute(
        _INSERT_CONTACTS,
        shared
        | {"as_closed": False, "inbound_from": "1 minute", "inbound_spread": "23 hours"}
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
    # The job last ran a day ago, before any of these windows closed.
    admin.execute("UPDATE window_expiry_progress SET expired_through = now() - interval '24 hours'")
    admin.execute("VACUUM ANALYZE contacts")
    admin.execute("VACUUM ANALYZE conversations")
    return Arranged(
        contacts=scalar(admin, "SELECT count(*) FROM contacts"),
        conversations=scalar(admin, "SELECT count(*) FROM conversations"),
        due_conversations=scalar(
            admin,
            "SELECT count(*) FROM conversations v JOIN contacts c ON c.id = v.contact_id"
            " WHERE c.window_status = 'open' AND c.window_expires_at <= now()",
        ),
        seconds=time.perf_counter() - started,
    )


def contact_states(admin: psycopg.Connection[Any]) -> dict[str, int]:
    rows = admin.execute(
        "SELECT CASE WHEN window_expires_at IS NULL THEN 'no window'"
        " WHEN window_expires_at <= now() THEN 'closed, ' || window_status ELSE 'open, ' || window_status END,"
        " count(*) FROM contacts GROUP BY 1"
    ).fetchall()
    return dict(rows)


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


def reopen_steady_state_slice(admin: psycopg.Connection[Any]) -> None:
    """STEADY_STATE_WINDOWS windows that closed during the last five minutes, since a run five minutes ago."""
    admin.execute(
        "UPDATE contacts SET window_status = 'open', window_expires_at = now() - random() * interval '5 minutes'"
        " WHERE id IN (SELECT id FROM contacts WHERE window_status = 'expired' LIMIT %s)",
        (STEADY_STATE_WINDOWS,),
    )
    admin.execute("UPDATE window_expiry_progress SET expired_through = now() - interval '5 minutes'")


def plain_update_baseline(admin: psycopg.Connection[Any]) -> Run:
    """Put the backlog's windows back to open, then flip them with one plain statement as the owner."""
    admin.execute(
        "UPDATE contacts SET window_status = 'open'"
        " WHERE window_status = 'expired' AND window_expires_at > now() - interval '25 hours'"
    )
    admin.execute("VACUUM ANALYZE contacts")
    admin.execute("CHECKPOINT")
    started = time.perf_counter()
    with admin.transaction():
        cursor = admin.execute(
            "UPDATE contacts SET window_status = 'expired' WHERE window_status = 'open' AND window_expires_at <= now()"
        )
    return Run("baseline: one plain UPDATE as owner", cursor.rowcount, 0, None, time.perf_counter() - started)


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
        backlog = run_handler(handler, event, f"backlog: {FUNCTION} handler")
        after = contact_states(admin)
        nothing_due = run_handler(handler, event, "nothing due: the handler again")

        reopen_steady_state_slice(admin)
        admin.execute("VACUUM ANALYZE contacts")
        admin.execute("CHECKPOINT")
        steady = run_handler(handler, event, "steady state: 5 minutes of windows")

        baseline = plain_update_baseline(admin)

    print_header(f"Window expiry: one run over {CLOSED_WINDOWS:,} closed windows")
    print(
        f"   {arranged.contacts:,} contacts in {TENANTS} tenants ({CLOSED_WINDOWS:,} windows closed in the last 24 h"
        f" and still marked open, {OPEN_WINDOWS:,} open, {NEVER_WROTE:,} never wrote);"
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
        and after.get("closed, open", 0) == 0
        and after.get("open, open") == before.get("open, open") == OPEN_WINDOWS
        and after.get("no window") == NEVER_WROTE
        and nothing_due.contacts_expired == 0
        and steady.contacts_expired == STEADY_STATE_WINDOWS
    )
    print(
        "checked: every closed window marked once, open windows and windowless contacts untouched,"
        f" the second run found nothing: {'yes' if correct else 'NO'}  (contacts before {before}, after {after})"
    )
    met = backlog.seconds < TARGET_SECONDS
    print(
        f"target: one run over {CLOSED_WINDOWS:,} closed windows in < {TARGET_SECONDS:.0f} s:"
        f" {backlog.seconds:.2f} s  {'PASS' if met else 'FAIL'}"
    )
    print(f"handler / plain UPDATE as owner: {ratio(backlog.seconds, baseline.seconds):.2f}")


if __name__ == "__main__":
    main()
