"""`threadline whatsapp dead-letters` and `threadline whatsapp replay ID`: Meta's notifications the webhook could not
place (migration 0031), and running one through the webhook's use case again once a fix has landed. Registered by
devtools.cli; reads and marks the rows as the schema owner (a row may name no tenant), and replays as the webhook
does (the functions' role, under each number's tenant)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from devtools.cli_errors import CliError, uuid_argument

# A row's raw notification is shown up to this many characters (the whole of it is what a replay runs).
RAW_PREVIEW_CHARS = 2_000


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a positive integer, not {value!r}")
    return int(value)


def add_whatsapp_commands(commands: Any) -> None:
    whatsapp = commands.add_parser("whatsapp", help="Meta's notifications the webhook could not place")
    actions = whatsapp.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("dead-letters", help="list them, oldest first (unresolved only, unless --all)")
    listing.add_argument("--tenant", type=uuid_argument, help="only this tenant's")
    listing.add_argument("--all", action="store_true", help="include the ones a replay resolved")
    listing.add_argument("--limit", type=_positive, default=100)
    listing.set_defaults(run=cmd_dead_letters)
    replay = actions.add_parser("replay", help="run one through the webhook's use case again")
    replay.add_argument("dead_letter_id", type=_positive, metavar="ID")
    replay.set_defaults(run=cmd_replay)


def _print(payload: Any) -> None:
    print(json.dumps(payload, indent=2, default=str, ensure_ascii=False))


def _shown(letter: Any) -> dict[str, Any]:
    raw = bytes(letter.raw).decode("utf-8", errors="replace")
    return {
        "id": letter.id,
        "tenant_id": letter.tenant_id,
        "phone_number_id": letter.phone_number_id,
        "reason": letter.reason,
        "received_at": letter.received_at,
        "replayed_at": letter.replayed_at,
        "replay_attempts": letter.replay_attempts,
        "last_replay_at": letter.last_replay_at,
        "raw": raw[:RAW_PREVIEW_CHARS],
        "raw_truncated": len(raw) > RAW_PREVIEW_CHARS,
    }


def cmd_dead_letters(args: argparse.Namespace, database_url: str) -> None:
    from threadline.db.connection import admin_connection
    from threadline.db.repositories.whatsapp_dead_letters import list_dead_letters

    with admin_connection(database_url) as conn:
        letters = list_dead_letters(conn, tenant_id=args.tenant, include_replayed=args.all, limit=args.limit)
    _print({"dead_letters": [_shown(letter) for letter in letters]})


def cmd_replay(args: argparse.Namespace, database_url: str) -> None:
    from devtools.localenv import prepare_local_environment
    from threadline.db.connection import admin_connection
    from threadline.db.repositories.whatsapp_dead_letters import find_dead_letter, record_replay
    from threadline.domain.intake.whatsapp_notifications import replay_notification

    # As the webhook runs: the functions' role (RLS, each number's tenant), WebSocket frames and deliveries after.
    prepare_local_environment(database_url)
    with admin_connection(database_url) as conn:
        letter = find_dead_letter(conn, args.dead_letter_id)
        if letter is None:
            raise CliError(f"No dead letter {args.dead_letter_id}")
        if letter.replayed_at is not None:
            raise CliError(f"Dead letter {letter.id} was already replayed at {letter.replayed_at.isoformat()}")
        receipt = replay_notification(bytes(letter.raw))
        remaining = "; ".join(receipt.unplaced) or None
        updated = record_replay(conn, letter.id, remaining_reason=remaining)
    _print(
        {
            "id": updated.id,
            "resolved": updated.replayed_at is not None,
            "messages_added": receipt.messages_added,
            "statuses_applied": receipt.statuses_applied,
            "still_unplaced": list(receipt.unplaced),
        }
    )
