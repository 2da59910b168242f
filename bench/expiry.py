"""The scheduled window expiry over 1,000,000 closed windows: one run of the real handler, against a 5 s target.

A window is a conversation's, by its connection's rule (migration 0018). The database holds 100 tenants, each with a
WhatsApp and a Telegram connection, and 1,100,000 contacts, each with a WhatsApp conversation: 1,000,000 whose window
closed at a random moment of the last 24 hours (the job last ran a day ago: a backlog, the worst case), 50,000 whose
window is still open and 50,000 where the customer never wrote; a twentieth of the customers also wrote on Telegram,
whose conversations have no window. The window trigger sets every closing time (24 hours after the conversation's last
inbound message, by its connection), exactly as ingest and the webhook leave them.

Timed, each after a checkpoint:

- backlog: the ExpireWindowsFunction handler with the sample scheduled event, as Lambda would call it, connected as
  threadline_app (the SECURITY DEFINER batch function, RLS in place);
- nothing due: the same handler again at once;
- steady state: 3,500 windows (a million a day, in five minutes) closed since the last run (five minutes ago, or the
  backlog run when that was later);
- baseline: the backlog's window.closed events (one per window: the event log's subscribers need each) written by one
  bare multi-row INSERT into the event log as the owner, the floor under appending them (target: the backlog run
  within 1.5 times it);
- baseline: marking each of the same million windows on its conversation row (one plain `UPDATE` as the owner), which
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

from bench.common import print_header, print_ratio, print_table, ratio, throwaway_database
from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.paths import REPO_ROOT
from devtools.template import load_template

TENANTS = 100
CLOSED_WINDOWS = 1_000_000
OPEN_WINDOWS = 50_000
NEVER_WROTE = 50_000
TELEGRAM_SHARE = 0.05
STEADY_STATE_WINDOWS = 3_500
TARGET_SECONDS = 5.0
# The backlog run appends one window.closed event per window: against one bare INSERT of the same events.
EVENTS_RATIO_TARGET = 1.5
# The baseline's events are numbered above this, apart from the log's own.
BASELINE_SEQS_ABOVE = 10**12
FUNCTION = "ExpireWindowsFunction"
EVENT_FILE = REPO_ROOT / "events" / "scheduled-window-expiry.json"

_INSERT_CONTACTS = """
INSERT INTO contacts (tenant_id, identifier, phone_digits, name, last_interaction_at)
SELECT (%(tenants)s::uuid[])[1 + g %% %(tenant_count)s], '+1555' || lpad(g::text, 8, '0'),
       '1555' || lpad(g::text, 8, '0'), 'Customer ' || g, last_inbound_at
FROM (SELECT g, now() - %(inbound_from)s::interval - random() * %(inbound_spread)s::interval AS last_inbound_at
      FROM generate_series(%(first)s, %(last)s) g) s
"""

# Each contact's conversation on the tenant's connection of `platform`, its last inbound message the contact's last
# message (NULL: never wrote); the trigger opens each window by its connection's rule.
_INSERT_CONVERSATIONS = """
INSERT INTO conversations (tenant_id, connection_id, platform, external_conversation_id, contact_id,
                           last_message_at, last_inbound_at)
SELECT c.tenant_id, k.id, k.platform, %(platform)s || '_' || c.identifier, c.id,
       c.last_interaction_at, c.last_interaction_at
FROM contacts c JOIN connections k ON k.tenant_id = c.tenant_id AND k.platform = %(platform)s
WHERE random() < %(share)s AND (c.last_interaction_at IS NOT NULL OR NOT %(only_writers)s)
"""


@dataclass
class Run:
    label: str
    windows_expired: int
    batches: int | None
    seconds: float

    def row(self) -> list[object]:
        return [
            self.label,
            self.windows_expired,
            "-" if self.batches is None else self.batches,
            self.seconds,
            ratio(self.windows_expired, self.seconds),
        ]


@dataclass(frozen=True)
class Arranged:
    contacts: int
    conversations: int
    windowless_conversations: int
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
    # One WhatsApp number (24 hours) and one Telegram bot (no window) per tenant, with their channels' rules.
    admin.execute(
        "INSERT INTO connections (tenant_id, connection_id, platform, api_secret_sha256, phone_number_id,"
        " reply_window_hours, max_replies_per_window)"
        " SELECT t, p || '_bench_' || n, p, repeat('0', 64), CASE p WHEN 'whatsapp' THEN '1555' || n END,"
        " platform_reply_window_hours(p), platform_max_replies_per_window(p)"
        " FROM unnest(%s::uuid[]) WITH ORDINALITY AS u (t, n), unnest(ARRAY['whatsapp', 'telegram']) p",
        (tenants,),
    )
    admin.execute(_INSERT_CONVERSATIONS, {"platform": "whatsapp", "share": 1.0, "only_writers": False})
    admin.execute(_INSERT_CONVERSATIONS, {"platform": "telegram", "share": TELEGRAM_SHARE, "only_writers": True})
    admin.execute("VACUUM ANALYZE contacts")
    admin.execute("VACUUM ANALYZE conversations")
    return Arranged(
        contacts=scalar(admin, "SELECT count(*) FROM contacts"),
        conversations=scalar(admin, "SELECT count(*) FROM conversations"),
        windowless_conversations=scalar(admin, "SELECT count(*) FROM conversations WHERE platform = 'telegram'"),
        seconds=time.perf_counter() - started,
    )


def window_states(admin: psycopg.Connection[Any]) -> dict[str, int]:
    """Conversations by window: none (never wrote, or a channel without one), still open, closed and noticed (at or
    before the job's mark), closed and not yet noticed."""
    rows = admin.execute(
        "SELECT CASE WHEN c.window_expires_at IS NULL THEN 'no window' WHEN c.window_expires_at > now() THEN 'open'"
        " WHEN c.window_expires_at <= p.expired_through THEN 'closed, noticed' ELSE 'closed, not noticed' END,"
        " count(*) FROM conversations c, window_expiry_progress p GROUP BY 1"
    ).fetchall()
    return dict(rows)


def job_mark(admin: psycopg.Connection[Any]) -> Any:
    return scalar(admin, "SELECT expired_through FROM window_expiry_progress")


def windows_between(admin: psycopg.Connection[Any], after: Any, until: Any) -> int:
    return int(
        scalar(
            admin,
            "SELECT count(*) FROM conversations WHERE window_expires_at > %s AND window_expires_at <= %s",
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
    return Run(label, outcome["windows_expired"], outcome["batches"], seconds)


def steady_state_slice(admin: psycopg.Connection[Any]) -> None:
    """STEADY_STATE_WINDOWS windows closed since the last run (a million a day: five minutes' worth).

    The last run is five minutes ago (the mark at now - 6 min), or the backlog run itself when it is more recent:
    the mark never moves back over windows the backlog already noticed. The windows close after the mark and at
    least the job's settling minute before now, so all of them, and nothing else, are due. One transaction, so every
    statement reads the same now(). It used to be two, the mark set from a later clock than the windows (by as long
    as the UPDATE took: 3,494 of 3,500 expired on a loaded machine), and its now() - 6 min could fall before the
    backlog's mark when arranging was quick, so windows the backlog had noticed were due a second time."""
    with admin.transaction():
        mark = scalar(
            admin,
            "UPDATE window_expiry_progress"
            " SET expired_through = GREATEST(expired_through, now() - interval '6 minutes') RETURNING expired_through",
        )
        admin.execute(
            # 1 - random() is in (0, 1]: every window closes after the mark, none after now - 1 minute.
            "UPDATE conversations"
            " SET window_expires_at = %(mark)s + (1 - random()) * (now() - interval '1 minute' - %(mark)s)"
            " WHERE id IN (SELECT id FROM conversations WHERE window_expires_at < now() - interval '1 hour'"
            " LIMIT %(n)s)",
            {"mark": mark, "n": STEADY_STATE_WINDOWS},
        )


def bare_insert_baseline(admin: psycopg.Connection[Any], after: Any, until: Any) -> Run:
    """The backlog's window.closed events (the same tenants, conversations, data and per-tenant numbering, in the
    same order) written by one bare multi-row INSERT into the event log as the owner: the floor under appending them
    through the log's heads. Their seqs are put far above the log's, so the two sets never meet."""
    admin.execute("CHECKPOINT")
    started = time.perf_counter()
    with admin.transaction():
        cursor = admin.execute(
            """
            INSERT INTO events (tenant_id, seq, type, conversation_id, data)
            SELECT v.tenant_id,
                   %(above)s + row_number() OVER (PARTITION BY v.tenant_id ORDER BY v.window_expires_at, v.id),
                   'window.closed', v.id,
                   jsonb_build_object('conversation_id', v.id, 'contact_id', v.contact_id,
                                      'window_expires_at', v.window_expires_at)
            FROM conversations v
            WHERE v.window_expires_at > %(after)s AND v.window_expires_at <= %(until)s
            """,
            {"above": BASELINE_SEQS_ABOVE, "after": after, "until": until},
        )
    return Run(
        "baseline: the same events, one bare INSERT (owner)", cursor.rowcount, None, time.perf_counter() - started
    )


def plain_update_baseline(admin: psycopg.Connection[Any], after: Any, until: Any) -> Run:
    """The same windows marked one row at a time, as the owner: the write this design does not make."""
    admin.execute("CHECKPOINT")
    started = time.perf_counter()
    with admin.transaction():
        cursor = admin.execute(
            "UPDATE conversations SET updated_at = now() WHERE window_expires_at > %s AND window_expires_at <= %s",
            (after, until),
        )
    return Run("baseline: a row written per window (owner)", cursor.rowcount, None, time.perf_counter() - started)


def main() -> None:
    event = json.loads(EVENT_FILE.read_text("utf-8"))
    with throwaway_database() as url, psycopg.connect(url, autocommit=True) as admin:
        handler = load_handler(load_template().functions[FUNCTION])
        from threadline.observability import logger

        logger.setLevel("WARNING")  # the run's summary line: the table below says the same
        arranged = arrange(admin)
        before = window_states(admin)

        # A warm container: the connection is open before the timed run, as on every scheduled run but the first.
        from threadline.db.tenancy import run_in_transaction

        run_in_transaction(lambda conn: conn.execute("SELECT 1"))
        admin.execute("CHECKPOINT")
        backlog_from = job_mark(admin)
        backlog = run_handler(handler, event, f"backlog: {FUNCTION} handler")
        backlog_until = job_mark(admin)
        after = window_states(admin)
        nothing_due = run_handler(handler, event, "nothing due: the handler again")
        window_closed_events = scalar(admin, "SELECT count(*) FROM events WHERE type = 'window.closed'")
        # Before the steady state takes some of these windows away: exactly the backlog's events.
        bare_insert = bare_insert_baseline(admin, backlog_from, backlog_until)

        steady_state_slice(admin)
        admin.execute("VACUUM ANALYZE conversations")
        admin.execute("CHECKPOINT")
        steady_from = job_mark(admin)
        steady = run_handler(handler, event, f"steady state: {STEADY_STATE_WINDOWS:,} closed since the last run")
        steady_due = windows_between(admin, steady_from, job_mark(admin))
        steady_events = (
            scalar(
                admin, "SELECT count(*) FROM events WHERE type = 'window.closed' AND seq <= %s", (BASELINE_SEQS_ABOVE,)
            )
            - window_closed_events
        )

        baseline = plain_update_baseline(admin, backlog_from, backlog_until)

    print_header(f"Window expiry: one run over {CLOSED_WINDOWS:,} closed windows")
    print(
        f"   {arranged.conversations:,} conversations of {arranged.contacts:,} contacts in {TENANTS} tenants"
        f" ({CLOSED_WINDOWS:,} WhatsApp windows closed in the last 24 h since the job's last run, {OPEN_WINDOWS:,}"
        f" open, {NEVER_WROTE:,} never wrote, {arranged.windowless_conversations:,} Telegram conversations without a"
        f" window) [arranged in {arranged.seconds:.1f} s]"
    )
    print()
    print_table(
        ["run", "windows expired", "batches", "seconds", "windows/s"],
        [run.row() for run in (backlog, nothing_due, steady, bare_insert, baseline)],
    )
    print()
    correct = (
        backlog.windows_expired == CLOSED_WINDOWS
        and before.get("closed, not noticed") == CLOSED_WINDOWS
        and after.get("closed, noticed") == CLOSED_WINDOWS
        and after.get("closed, not noticed", 0) == 0
        and after.get("open") == before.get("open") == OPEN_WINDOWS
        and after.get("no window") == NEVER_WROTE + arranged.windowless_conversations
        and nothing_due.windows_expired == 0
        and window_closed_events == CLOSED_WINDOWS
        and steady.windows_expired == steady_due == STEADY_STATE_WINDOWS
        and steady_events == STEADY_STATE_WINDOWS
    )
    print(
        "checked: every closed window noticed once with one window.closed event, open windows and windowless"
        " conversations untouched, the second run found nothing, the steady state's windows all expired:"
        f" {'yes' if correct else 'NO'}  (conversations before {before}, after {after};"
        f" window.closed events {window_closed_events:,}, then {steady_events:,} more; steady state"
        f" {steady.windows_expired:,} expired of {steady_due:,} due)"
    )
    met = backlog.seconds < TARGET_SECONDS
    print(
        f"target: one run over {CLOSED_WINDOWS:,} closed windows in < {TARGET_SECONDS:.0f} s:"
        f" {backlog.seconds:.2f} s  {'PASS' if met else 'FAIL'}"
    )
    events_ratio = ratio(backlog.seconds, bare_insert.seconds)
    print_ratio(
        "handler / a bare INSERT of the same window.closed events",
        events_ratio,
        target=f"<= {EVENTS_RATIO_TARGET}",
        met=events_ratio <= EVENTS_RATIO_TARGET,
    )
    print(f"handler / a row written per window: {ratio(backlog.seconds, baseline.seconds):.2f}")


if __name__ == "__main__":
    main()
