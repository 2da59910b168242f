"""SnapStart's after-restore hooks: a container restored from a snapshot reconnects and re-reads its secrets."""

from __future__ import annotations

import json

from tests.support.ingest import batch, call_ingest, conversation, message
from threadline.db.connection import app_connection
from threadline.meta.client import reset_meta_client
from threadline.meta.config import get_meta_settings
from threadline.snapstart import run_after_restore_hooks


def test_after_a_restore_the_next_request_opens_a_new_database_connection(connector, admin):
    first = batch(connector, conversation("chat_before", "+15550001111", message("m1", "2026-02-01T10:00:00Z")))
    assert call_ingest(first, api_key=connector.api_secret)[0] == 200
    before_restore = app_connection()
    backend_before = before_restore.info.backend_pid

    run_after_restore_hooks()

    assert before_restore.closed
    second = batch(connector, conversation("chat_after", "+15550001111", message("m2", "2026-02-01T10:01:00Z")))
    status, body = call_ingest(second, api_key=connector.api_secret)
    assert status == 200 and body["results"][0]["status"] == "created"
    backend_after = app_connection().info.backend_pid
    assert backend_after != backend_before
    alive = {row[0] for row in admin.execute("SELECT pid FROM pg_stat_activity WHERE application_name = 'threadline'")}
    assert backend_before not in alive and backend_after in alive


def test_after_a_restore_the_meta_secret_is_read_again(monkeypatch, secrets_manager):
    for name in ("META_ACCESS_TOKEN", "META_APP_SECRET", "META_VERIFY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    arn = secrets_manager.client.create_secret(
        Name="threadline/test/meta",
        SecretString=json.dumps({"access_token": "token-at-snapshot", "app_secret": "s", "verify_token": "v"}),
    )["ARN"]
    monkeypatch.setenv("META_SECRET_ARN", arn)
    monkeypatch.setenv("META_SECRET_MAX_AGE_SECONDS", "3600")
    reset_meta_client()
    try:
        assert get_meta_settings().access_token() == "token-at-snapshot"
        secrets_manager.client.put_secret_value(
            SecretId=arn,
            SecretString=json.dumps({"access_token": "token-rotated", "app_secret": "s", "verify_token": "v"}),
        )
        assert get_meta_settings().access_token() == "token-at-snapshot"  # cached for an hour, as in a container

        run_after_restore_hooks()

        assert get_meta_settings().access_token() == "token-rotated"
    finally:
        run_after_restore_hooks()  # no cached secret outlives the server's state
        monkeypatch.undo()
        reset_meta_client()
