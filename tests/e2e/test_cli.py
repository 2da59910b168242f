"""The `threadline` admin CLI, run as a developer runs it, against the test database."""

from __future__ import annotations

import json
import os
import subprocess

import requests

from tests.conftest import EVENTS, REPO_ROOT

THREADLINE = str(REPO_ROOT / ".venv" / "bin" / "threadline")


def threadline(database_url, *args):
    env = os.environ | {"DATABASE_URL": database_url}
    completed = subprocess.run([THREADLINE, *args], env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


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
