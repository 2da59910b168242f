"""The `threadline` admin CLI, run as a developer runs it, against the test database."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest
import requests

from tests.support.paths import EVENTS, REPO_ROOT

THREADLINE = str(REPO_ROOT / ".venv" / "bin" / "threadline")


def run(database_url, *args):
    env = os.environ | {"DATABASE_URL": database_url}
    return subprocess.run([THREADLINE, *args], env=env, capture_output=True, text=True, timeout=120)


def threadline(database_url, *args):
    completed = run(database_url, *args)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def refused(database_url, *args) -> str:
    """The error of a command that must fail: exit status 2, nothing on stdout, one JSON object on stderr."""
    completed = run(database_url, *args)
    assert (completed.returncode, completed.stdout) == (2, ""), completed.stderr
    error = json.loads(completed.stderr)  # one JSON object and nothing else: no traceback, no usage text
    assert list(error) == ["error"] and isinstance(error["error"], str)
    return error["error"]


def test_tenant_connection_token_and_deactivation_work_against_the_same_database(database_url, gateway, admin):
    tenant = threadline(database_url, "tenant", "create", "--name", "Acme Support")
    assert set(tenant) == {"id", "name"} and tenant["name"] == "Acme Support"

    created = threadline(
        database_url,
        "connection",
        "create",
        "--tenant",
        tenant["id"],
        "--platform",
        "whatsapp",
        "--connection-id",
        "wa_acme_cli",
        "--phone-number-id",
        "1099",
    )
    assert created["connection_id"] == "wa_acme_cli" and created["platform"] == "whatsapp"
    assert created["api_secret"].startswith("tl_sk_")
    stored = admin.execute(
        "SELECT api_secret_sha256, phone_number_id FROM connections WHERE connection_id = 'wa_acme_cli'"
    ).fetchone()
    assert stored[0] != created["api_secret"] and stored[1] == "1099"

    body = json.loads(json.loads((EVENTS / "ingest-seed-path.json").read_text())["body"]) | {
        "connection_id": "wa_acme_cli"
    }
    url = f"{gateway.base_url}/functions/v1/messaging-ingest"
    assert requests.post(url, json=body, headers={"x-api-key": created["api_secret"]}, timeout=10).status_code == 200

    assert threadline(database_url, "connection", "deactivate", "wa_acme_cli") == {
        "connection_id": "wa_acme_cli",
        "is_active": False,
    }
    refused = requests.post(url, json=body, headers={"x-api-key": created["api_secret"]}, timeout=10)
    assert (refused.status_code, refused.json()) == (403, {"error": "Connection is inactive"})

    token = threadline(database_url, "token", "--tenant", tenant["id"], "--ttl", "60")["token"]
    from devtools.auth import verify_bearer

    assert verify_bearer(f"Bearer {token}")["tenant_id"] == tenant["id"]


def test_invoke_runs_a_function_with_a_sample_event(database_url, tmp_path):
    event = json.loads((EVENTS / "ingest-seed-path.json").read_text())
    event["headers"].pop("x-api-key")
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event))
    result = threadline(database_url, "invoke", "IngestFunction", "--event", str(event_file))
    assert result["statusCode"] == 401 and json.loads(result["body"]) == {"error": "Missing x-api-key header"}


def test_migrate_reports_nothing_pending(database_url):
    assert threadline(database_url, "migrate") == {"applied": []}


@pytest.fixture
def tenant(database_url):
    return threadline(database_url, "tenant", "create", "--name", "Refusals Inc")["id"]


def count(admin, query, *params) -> int:
    return admin.execute(query, params).fetchone()[0]


def test_a_phone_number_id_another_connection_has_is_refused_and_nothing_is_stored(database_url, admin, tenant):
    number = str(uuid.uuid4().int)[:15]
    threadline(database_url, "connection", "create", "--tenant", tenant, "--platform", "whatsapp",
               "--phone-number-id", number)  # fmt: skip

    error = refused(
        database_url, "connection", "create", "--tenant", tenant, "--platform", "whatsapp",
        "--connection-id", "wa_second", "--phone-number-id", number,
    )  # fmt: skip

    assert error == f"A connection with phone_number_id {number} already exists"
    assert count(admin, "SELECT count(*) FROM connections WHERE phone_number_id = %s", number) == 1
    assert count(admin, "SELECT count(*) FROM connections WHERE connection_id = 'wa_second'") == 0


@pytest.mark.parametrize(
    "command",
    [
        ["connection", "create", "--platform", "telegram", "--tenant", "{tenant}"],
        ["user", "create", "--name", "Ana", "--tenant", "{tenant}"],
        ["workspace", "create", "--name", "Ops", "--tenant", "{tenant}"],
        ["location", "create", "--name", "Shop", "--tenant", "{tenant}"],
    ],
)
def test_an_unknown_tenant_is_named(database_url, command):
    unknown = str(uuid.uuid4())

    assert refused(database_url, *[part.format(tenant=unknown) for part in command]) == f"No tenant {unknown}"


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (["connection", "create", "--tenant", "{tenant}", "--platform", "icq"], "argument --platform: invalid choice"),
        (["connection", "create", "--tenant", "acme", "--platform", "whatsapp"], "argument --tenant: not an id"),
        (["token", "--tenant", "{tenant}", "--ttl", "soon"], "argument --ttl: invalid int value: 'soon'"),
        (["tenant", "create"], "the following arguments are required: --name"),
        (["tenants"], "argument command: invalid choice: 'tenants'"),
        ([], "the following arguments are required: command"),
        (["migrate", "--force"], "unrecognized arguments: --force"),
    ],
)
def test_usage_errors_are_json_too(database_url, tenant, command, error):
    assert error in refused(database_url, *[part.format(tenant=tenant) for part in command])


def test_a_failing_command_leaves_nothing_half_done(database_url, admin, tenant):
    connection = threadline(database_url, "connection", "create", "--tenant", tenant, "--platform", "whatsapp")

    error = refused(
        database_url, "location", "create", "--tenant", tenant, "--name", "Harbour shop",
        "--connection", connection["connection_id"], "--connection", "wa_nowhere",
    )  # fmt: skip

    assert error == f"No connection wa_nowhere in tenant {tenant}"
    assert count(admin, "SELECT count(*) FROM locations WHERE name = 'Harbour shop'") == 0
    assert count(
        admin, "SELECT count(*) FROM connections WHERE connection_id = %s AND location_id IS NULL",
        connection["connection_id"],
    ) == 1  # fmt: skip


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (["connection", "deactivate", "wa_nobody"], "No connection wa_nobody"),
        (["session", "create", "--workspace", "{unknown}"], "No workspace {unknown}"),
        (["invoke", "NoSuchFunction", "--event", "events/ingest-v1.json"], "No function 'NoSuchFunction'; known: "),
        (["invoke", "IngestFunction", "--event", "events/no-such-event.json"], "No such file or directory: "),
    ],
)
def test_things_that_do_not_exist_are_named(database_url, command, error):
    unknown = str(uuid.uuid4())

    message = refused(database_url, *[part.format(unknown=unknown) for part in command])

    assert message.startswith(error.format(unknown=unknown))


def test_a_connection_records_its_whatsapp_business_account_and_its_templates_sync(database_url, admin):
    from tests.support.factories import new_tenant

    tenant_id = new_tenant(admin)
    created = threadline(
        database_url, "connection", "create", "--tenant", str(tenant_id), "--platform", "whatsapp",
        "--phone-number-id", "5550100",
    )  # fmt: skip
    connection_id = created["connection_id"]

    updated = threadline(database_url, "connection", "update", connection_id, "--waba-id", "102290129340398")
    assert updated["waba_id"] == "102290129340398"
    assert "digits" in refused(database_url, "connection", "update", connection_id, "--waba-id", "12ab")

    # No Meta configured: the sandbox lists its demo templates for any account.
    env_without_meta = {"META_GRAPH_URL": "", "META_ACCESS_TOKEN": "", "META_SECRET_ARN": ""}
    completed = subprocess.run(
        [THREADLINE, "templates", "sync", "--connection", connection_id],
        env={k: v for k, v in os.environ.items() if k not in env_without_meta} | {"DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {"synced": [{"waba_id": "102290129340398", "templates": 3, "removed": 0}]}
    stored = admin.execute(
        "SELECT name, status FROM message_templates WHERE tenant_id = %s ORDER BY name", (tenant_id,)
    ).fetchall()
    assert stored == [("appointment_reminder", "APPROVED"), ("order_update", "APPROVED"), ("spring_sale", "PAUSED")]

    forgotten = threadline(database_url, "connection", "update", connection_id, "--waba-id", "none")
    assert forgotten["waba_id"] is None


def test_copy_media_is_switched_per_connection(database_url, admin, tenant):
    created = threadline(database_url, "connection", "create", "--tenant", tenant, "--platform", "telegram")
    connection_id = created["connection_id"]

    switched = threadline(database_url, "connection", "update", connection_id, "--copy-media", "on")

    assert switched["copy_media"] is True
    assert count(admin, "SELECT count(*) FROM connections WHERE connection_id = %s AND copy_media", connection_id) == 1
    assert threadline(database_url, "connection", "update", connection_id, "--copy-media", "off")["copy_media"] is False
    assert "on or off" in refused(database_url, "connection", "update", connection_id, "--copy-media", "yes")


@pytest.mark.usefixtures("meta_secrets")
def test_a_dead_letter_is_listed_then_placed_by_a_replay_once_its_number_has_a_connection(database_url, admin, tenant):
    from tests.support.meta_payloads import change, contact, notification, post, text_message, wamid

    number, message_id = str(uuid.uuid4().int)[:15], wamid()
    body = notification(change(number, contacts=[contact()], messages=[text_message(message_id, "Anyone there?")]))
    assert post(body).status == 200
    [letter] = [
        letter
        for letter in threadline(database_url, "whatsapp", "dead-letters", "--limit", "1000")["dead_letters"]
        if letter["phone_number_id"] == number
    ]
    assert letter["reason"] == f"phone_number_id {number} has no WhatsApp connection"
    assert (letter["tenant_id"], letter["replayed_at"], json.loads(letter["raw"])) == (None, None, body)

    # The fix: the number gets its connection. The replay stores what the notification said, under that tenant.
    threadline(database_url, "connection", "create", "--tenant", tenant, "--platform", "whatsapp",
               "--phone-number-id", number)  # fmt: skip
    replayed = threadline(database_url, "whatsapp", "replay", str(letter["id"]))

    assert replayed == {
        "id": letter["id"], "resolved": True, "messages_added": 1, "statuses_applied": 0, "still_unplaced": []
    }  # fmt: skip
    assert admin.execute(
        "SELECT tenant_id::text, content FROM messages WHERE meta_id = %s", (message_id,)
    ).fetchone() == (tenant, "Anyone there?")
    listed = threadline(database_url, "whatsapp", "dead-letters", "--limit", "1000")["dead_letters"]
    assert letter["id"] not in [each["id"] for each in listed]
    [resolved] = [
        each
        for each in threadline(database_url, "whatsapp", "dead-letters", "--all", "--limit", "1000")["dead_letters"]
        if each["id"] == letter["id"]
    ]
    assert resolved["replayed_at"] is not None and resolved["replay_attempts"] == 1
    assert refused(database_url, "whatsapp", "replay", str(letter["id"])).startswith(
        f"Dead letter {letter['id']} was already replayed at "
    )


def test_a_replay_that_still_cannot_place_keeps_the_dead_letter_open_with_its_reason(database_url, admin):
    raw = f"not json {uuid.uuid4()}".encode()
    admin.execute("SELECT record_whatsapp_dead_letters(ARRAY[NULL]::text[], ARRAY['kept']::text[], ARRAY[%s]::bytea[])",
                  (raw,))  # fmt: skip
    [(letter_id,)] = admin.execute("SELECT id FROM whatsapp_dead_letters WHERE raw = %s", (raw,)).fetchall()

    replayed = threadline(database_url, "whatsapp", "replay", str(letter_id))

    assert replayed["resolved"] is False
    assert replayed["still_unplaced"] == ["Request body must be valid JSON"]
    state = admin.execute(
        "SELECT reason, replayed_at, replay_attempts FROM whatsapp_dead_letters WHERE id = %s", (letter_id,)
    ).fetchone()
    assert state == ("Request body must be valid JSON", None, 1)


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (["whatsapp", "replay", "999999999"], "No dead letter 999999999"),
        (["whatsapp", "replay", "first"], "argument ID: a positive integer, not 'first'"),
        (["whatsapp", "dead-letters", "--tenant", "acme"], "argument --tenant: not an id"),
    ],
)
def test_dead_letter_commands_refuse_in_json(database_url, command, error):
    assert error in refused(database_url, *command)


def test_a_tenant_chooses_whether_revoked_whatsapp_content_is_kept(database_url, admin, tenant):
    assert admin.execute("SELECT keep_revoked_content FROM tenants WHERE id = %s", (tenant,)).fetchone() == (True,)

    settings = threadline(database_url, "tenant", "configure", tenant, "--keep-revoked-content", "off")

    assert settings["keep_revoked_content"] is False
    assert admin.execute("SELECT keep_revoked_content FROM tenants WHERE id = %s", (tenant,)).fetchone() == (False,)
    assert "argument --keep-revoked-content: on or off, not 'maybe'" in refused(
        database_url, "tenant", "configure", tenant, "--keep-revoked-content", "maybe"
    )
