"""Workspace session message capture (docs/session-messages-api.md) through the real handler and
a real PostgreSQL: response shapes, session resolution, tenancy, bad input; and creating workspaces and sessions
through the API and the CLI."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.support.factories import new_tenant
from tests.support.sessions import (
    JS_TIMESTAMP,
    WMSG,
    WSES,
    call_capture,
    call_create_session,
    call_create_workspace,
    capture,
    make_session,
    message_count,
    session_messages,
)

NOT_FOUND = (404, {"error": "Session not found or message could not be saved"})
MESSAGE_REQUIRED = (400, {"error": "Message is required and must be a string"})
BRIEF_KEYS = {"id", "workspaceId", "workspaceSessionId", "role", "content", "contentType", "channel", "createdAt"}
FULL_KEYS = {
    "id",
    "uuid",
    "workspaceId",
    "workspaceUserId",
    "workspaceSessionId",
    "workspaceSessionUuid",
    "role",
    "content",
    "contentType",
    "messageType",
    "contextType",
    "contextId",
    "channel",
    "username",
    "attachments",
    "summarizedUpto",
    "createdAt",
    "updatedAt",
}


class TestAssistantMessages:
    def test_the_seed_example_is_stored_and_answered_in_the_documented_shape(self, admin):
        session = make_session(admin)
        status, body = capture(
            "assistant",
            session,
            {
                "message": "Your task has been completed successfully!",
                "channel": "automation",
                "metadata": {"source": "task_scheduler", "taskId": "task_789"},
            },
        )

        assert status == 200
        assert set(body) == {"success", "message"} and body["success"] is True
        message = body["message"]
        assert set(message) == BRIEF_KEYS
        assert message | {"id": None, "createdAt": None} == {
            "id": None,
            "workspaceId": str(session.workspace_id),
            "workspaceSessionId": session.public_id,
            "role": "assistant",
            "content": "Your task has been completed successfully!",
            "contentType": "text",
            "channel": "automation",
            "createdAt": None,
        }
        assert isinstance(message["id"], int) and re.match(JS_TIMESTAMP, message["createdAt"])
        [row] = session_messages(admin, session)
        assert row["id"] == message["id"]
        assert re.match(WMSG, row["external_id"])
        assert (row["direction"], row["type"], row["source"], row["status"]) == (
            "outbound",
            "text",
            "workspace_api",
            "sent",
        )
        assert row["metadata"] == {"source": "task_scheduler", "taskId": "task_789"}
        assert (row["channel"], row["content_type"], row["context_type"], row["thread_id"]) == (
            "automation",
            "text",
            "workspace",
            None,
        )

    def test_the_deprecated_route_behaves_as_assistant(self, admin):
        session = make_session(admin)
        status, body = capture("deprecated", session, {"message": "Task reminder", "channel": "automation"})

        assert status == 200 and set(body) == {"success", "message"}
        assert set(body["message"]) == BRIEF_KEYS
        assert (body["message"]["role"], body["message"]["channel"]) == ("assistant", "automation")
        assert [row["direction"] for row in session_messages(admin, session)] == ["outbound"]

    def test_channel_defaults_to_api_and_process_is_ignored(self, admin, fake_bedrock):
        session = make_session(admin)
        status, body = capture("assistant", session, {"message": "Test notification", "process": True})

        assert status == 200 and body["message"]["channel"] == "api"
        assert len(session_messages(admin, session)) == 1 and fake_bedrock.requests == []


class TestUserMessages:
    def test_capture_without_processing_answers_every_documented_field(self, admin):
        session = make_session(admin)
        status, body = capture(
            "user",
            session,
            {
                "message": "User logged in from mobile app",
                "process": False,
                "channel": "mobile",
                "metadata": {"deviceType": "iOS", "appVersion": "2.1.0"},
            },
        )

        assert status == 200
        assert set(body) == {"success", "userMessage", "assistantMessage"}
        assert body["success"] is True and body["assistantMessage"] is None
        message = body["userMessage"]
        assert set(message) == FULL_KEYS
        [row] = session_messages(admin, session)
        assert message == {
            "id": row["id"],
            "uuid": row["external_id"],
            "workspaceId": str(session.workspace_id),
            "workspaceUserId": None,
            "workspaceSessionId": session.public_id,
            "workspaceSessionUuid": str(session.uuid),
            "role": "user",
            "content": "User logged in from mobile app",
            "contentType": "text",
            "messageType": "message",
            "contextType": "workspace",
            "contextId": str(session.workspace_id),
            "channel": "mobile",
            "username": f"service:{session.tenant_id}",  # the token's subject: a service token has no agent
            "attachments": None,
            "summarizedUpto": None,
            "createdAt": message["createdAt"],
            "updatedAt": message["createdAt"],
        }
        assert re.match(WMSG, message["uuid"]) and re.match(JS_TIMESTAMP, message["createdAt"])
        assert (row["direction"], row["status"], row["metadata"]) == (
            "inbound",
            "received",
            {"deviceType": "iOS", "appVersion": "2.1.0"},
        )

    def test_the_author_is_named_when_the_token_is_an_agent_of_the_tenant(self, admin):
        from threadline.db.repositories.tenants import insert_user

        session = make_session(admin)
        agent = insert_user(admin, tenant_id=session.tenant_id, name="Ana Agent", email=None)
        _, body = capture("user", session, {"message": "hello"}, user_id=agent.id)

        assert body["userMessage"]["username"] == "Ana Agent"
        assert session_messages(admin, session)[0]["author_user_id"] == agent.id

    def test_an_agent_of_another_tenant_is_not_recorded_as_author(self, admin):
        from threadline.db.repositories.tenants import insert_user

        session = make_session(admin)
        stranger = insert_user(admin, tenant_id=new_tenant(admin), name="Stranger", email=None)
        _, body = capture("user", session, {"message": "hello"}, user_id=stranger.id)

        assert body["userMessage"]["username"] == str(stranger.id)  # what the token names, not their name
        assert session_messages(admin, session)[0]["author_user_id"] is None

    @pytest.mark.parametrize(
        ("claims_changed", "username"),
        [
            ({"name": "Nightly Import", "email": "import@acme.test"}, "Nightly Import"),
            ({"preferred_username": "importer", "email": "import@acme.test"}, "importer"),
            ({"email": "import@acme.test"}, "import@acme.test"),
            ({"name": "  "}, "service:{tenant}"),
            ({"sub": None}, "mobile"),  # a token naming nobody: the channel it came through
        ],
    )
    def test_without_an_agent_the_username_is_what_the_token_names_or_the_channel(
        self, admin, claims_changed, username
    ):
        session = make_session(admin)
        _, body = capture("user", session, {"message": "hello", "channel": "mobile"}, claims_changed=claims_changed)

        assert body["userMessage"]["username"] == username.format(tenant=session.tenant_id)

    def test_context_type_and_claude_session_id_are_kept(self, admin):
        session = make_session(admin)
        _, body = capture("user", session, {"message": "hi", "contextType": "space", "claudeSessionId": "session_xyz"})

        assert body["userMessage"]["contextType"] == "space"
        row = session_messages(admin, session)[0]
        assert (row["context_type"], row["thread_id"]) == ("space", "session_xyz")

    def test_null_optional_fields_take_their_defaults(self, admin):
        session = make_session(admin)
        status, body = capture(
            "user",
            session,
            {"message": "hi", "channel": None, "metadata": None, "process": None, "claudeSessionId": None},
        )

        assert status == 200 and body["userMessage"]["channel"] == "api" and body["assistantMessage"] is None
        assert session_messages(admin, session)[0]["metadata"] == {}

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            ('{"type": "progress", "step": 1}', "json"),
            ('  [{"type": "progress"}]  ', "json"),
            ("What is 2+2?", "text"),
            ('"a JSON string"', "text"),
            ("42", "text"),
            ("{not json", "text"),
        ],
    )
    def test_content_type_is_detected(self, admin, content, expected):
        session = make_session(admin)
        _, body = capture("user", session, {"message": content})

        assert body["userMessage"]["contentType"] == expected
        assert body["userMessage"]["content"] == content
        assert session_messages(admin, session)[0]["content_type"] == expected


class TestSessionResolution:
    @pytest.mark.parametrize("workspace_by", ["uuid", "config id"])
    @pytest.mark.parametrize("session_by", ["wses id", "uuid"])
    def test_workspace_by_uuid_or_config_id_and_session_by_id_or_uuid(self, admin, workspace_by, session_by):
        session = make_session(admin, config_id=f"support-{uuid.uuid4().hex[:6]}")
        workspace = str(session.workspace_id) if workspace_by == "uuid" else session.config_id
        session_ref = session.public_id if session_by == "wses id" else str(session.uuid)
        status, body = call_capture(
            "user", {"message": "hi"}, tenant_id=session.tenant_id, workspace=workspace, session=session_ref
        )

        assert status == 200
        assert body["userMessage"]["workspaceSessionId"] == session.public_id
        assert body["userMessage"]["workspaceId"] == str(session.workspace_id)
        assert len(session_messages(admin, session)) == 1

    def test_a_session_of_another_workspace_is_not_found(self, admin):
        session = make_session(admin)
        other = make_session(admin, session.tenant_id)
        before = message_count(admin)

        for route in ("assistant", "user", "deprecated"):
            answer = call_capture(
                route,
                {"message": "hi"},
                tenant_id=session.tenant_id,
                workspace=str(other.workspace_id),
                session=session.public_id,
            )
            assert answer == NOT_FOUND, route
        assert message_count(admin) == before

    def test_another_tenants_session_is_not_found(self, admin):
        session = make_session(admin)
        intruder = new_tenant(admin)
        before = message_count(admin)

        for session_ref in (session.public_id, str(session.uuid)):
            answer = call_capture(
                "user",
                {"message": "hi"},
                tenant_id=intruder,
                workspace=str(session.workspace_id),
                session=session_ref,
            )
            assert answer == NOT_FOUND
        assert message_count(admin) == before

    @pytest.mark.parametrize(
        ("workspace", "session_ref"),
        [
            ("known", f"wses_{uuid.uuid4().hex}"),
            ("known", str(uuid.uuid4())),
            ("known", "not-a-session"),
            (str(uuid.uuid4()), "known"),
            ("no-such-config", "known"),
        ],
    )
    def test_unknown_workspaces_and_sessions_are_not_found(self, admin, workspace, session_ref):
        session = make_session(admin)
        answer = call_capture(
            "assistant",
            {"message": "hi"},
            tenant_id=session.tenant_id,
            workspace=str(session.workspace_id) if workspace == "known" else workspace,
            session=session.public_id if session_ref == "known" else session_ref,
        )
        assert answer == NOT_FOUND
        assert session_messages(admin, session) == []

    def test_a_token_without_a_tenant_is_refused(self, admin):
        session = make_session(admin)
        answer = call_capture(
            "user", {"message": "hi"}, tenant_id=None, workspace=str(session.workspace_id), session=session.public_id
        )
        assert answer == (401, {"error": "Unauthorized"})
        assert session_messages(admin, session) == []


class TestBadInput:
    @pytest.mark.parametrize("route", ["assistant", "user", "deprecated"])
    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"message": None},
            {"message": 42},
            {"message": ["hi"]},
            {"message": {"text": "hi"}},
            {"message": ""},
            {"message": "   \n"},
            {"channel": "api"},
            None,
            "",
        ],
        ids=["no message", "null", "number", "array", "object", "empty", "blank", "only channel", "no body", "empty"],
    )
    def test_a_missing_or_unusable_message_gets_the_seeds_answer(self, admin, route, body):
        session = make_session(admin)
        assert capture(route, session, body) == MESSAGE_REQUIRED
        assert session_messages(admin, session) == []

    @pytest.mark.parametrize(
        ("body", "error"),
        [
            ('{"message": "hi"', "Request body must be valid JSON"),
            ('["hi"]', "Request body must be a JSON object"),
            ({"message": "hi", "channel": 5}, "channel: must be a string"),
            ({"message": "hi", "channel": ""}, "channel: must not be empty"),
            ({"message": "hi", "metadata": "x"}, "metadata: must be an object"),
            ({"message": "hi", "metadata": [1]}, "metadata: must be an object"),
            ({"message": "hi", "metadata": {"k": "a\u0000b"}}, "metadata.k: must not contain NUL characters"),
            ({"message": "hi", "process": "yes"}, "process: must be a boolean"),
            ({"message": "hi", "process": 1}, "process: must be a boolean"),
            ({"message": "hi", "claudeSessionId": 7}, "claudeSessionId: must be a string"),
            ({"message": "hi", "contextType": False}, "contextType: must be a string"),
            ({"message": "a\u0000b"}, "message: must not contain NUL characters"),
            ({"message": "x" * 100_001}, "message: must be at most 100000 characters"),
        ],
    )
    def test_other_bad_fields_are_named_and_nothing_is_written(self, admin, body, error):
        session = make_session(admin)
        assert capture("user", session, body) == (400, {"error": error})
        assert session_messages(admin, session) == []

    def test_bad_input_is_refused_before_the_session_is_looked_up(self, admin):
        tenant = new_tenant(admin)
        answer = call_capture("user", {"message": 1}, tenant_id=tenant, workspace="nope", session="nope")
        assert answer == MESSAGE_REQUIRED


class TestOneMessageModel:
    def test_a_session_is_a_workspace_conversation_without_a_contact(self, admin):
        session = make_session(admin)
        capture("user", session, {"message": "first"})
        capture("assistant", session, {"message": "second"})

        row = admin.execute(
            "SELECT platform, contact_id, connection_id, external_conversation_id, message_count,"
            " last_message_preview FROM conversations WHERE id = %s",
            (session.conversation_id,),
        ).fetchone()
        assert row == ("workspace", None, None, session.public_id, 2, "second")

    def test_other_platforms_still_need_a_contact(self, admin):
        import psycopg

        tenant = new_tenant(admin)
        with pytest.raises(psycopg.errors.CheckViolation):
            admin.execute(
                "INSERT INTO conversations (tenant_id, platform, external_conversation_id) VALUES (%s, 'whatsapp', 'x')",
                (tenant,),
            )

    def test_the_message_is_broadcast_to_the_session_after_it_is_stored(self, admin, monkeypatch):
        published = []

        def publish_session_message(tenant_id, session_uuid, message):
            stored = admin.execute("SELECT count(*) FROM messages WHERE id = %s", (int(message.id),)).fetchone()
            published.append((tenant_id, session_uuid, message, stored[0]))

        # Recorded at the domain's seam (the publisher itself is tested in test_realtime_publisher.py).
        monkeypatch.setattr("threadline.domain.sessions.capture.publish_session_message", publish_session_message)
        session = make_session(admin)

        _, body = capture("user", session, {"message": "hello", "metadata": {"k": "v"}})

        [(tenant_id, session_uuid, message, committed)] = published
        # The seed's frames name the session by its wses_ id (as "sessionUuid"), as clients subscribe to it.
        assert (tenant_id, session_uuid, committed) == (session.tenant_id, session.public_id, 1)
        assert message.model_dump(mode="json") == {
            "id": str(body["userMessage"]["id"]),
            "role": "user",
            "content": "hello",
            "metadata": {"k": "v"},
            "createdAt": body["userMessage"]["createdAt"],
        }

    def test_a_failing_broadcast_does_not_fail_the_capture(self, admin, monkeypatch):
        from devtools.fake_graph import unused_local_url
        from threadline.realtime.publisher import MANAGEMENT_URL_VARIABLE, reset_management_client

        session = make_session(admin)
        # A real subscriber, and an API Gateway management endpoint that refuses every connection.
        admin.execute(
            "INSERT INTO websocket_connections (connection_id, tenant_id, user_id) VALUES ('conn-down', %s, 'agent')",
            (session.tenant_id,),
        )
        admin.execute(
            "INSERT INTO websocket_subscriptions (tenant_id, connection_id, topic, topic_id)"
            " VALUES (%s, 'conn-down', 'session', %s)",
            (session.tenant_id, session.public_id),
        )
        monkeypatch.setenv(MANAGEMENT_URL_VARIABLE, unused_local_url())
        reset_management_client()
        try:
            status, _ = capture("assistant", session, {"message": "hello"})
        finally:
            reset_management_client()
        assert status == 200 and len(session_messages(admin, session)) == 1


class TestCreatingWorkspacesAndSessions:
    def test_a_workspace_and_a_session_created_through_the_api_take_messages(self, admin):
        tenant = new_tenant(admin)
        config_id = f"support-{uuid.uuid4().hex[:6]}"
        status, body = call_create_workspace({"name": "Support automation", "configId": config_id}, tenant_id=tenant)

        assert status == 201 and set(body) == {"success", "workspace"}
        workspace = body["workspace"]
        assert set(workspace) == {"id", "configId", "name", "createdAt"}
        assert (workspace["configId"], workspace["name"]) == (config_id, "Support automation")

        status, body = call_create_session({"title": "Mobile app chat"}, tenant_id=tenant, workspace=config_id)
        assert status == 201 and set(body) == {"success", "session"}
        session = body["session"]
        assert set(session) == {"id", "uuid", "workspaceId", "title", "createdAt"}
        assert re.match(WSES, session["id"]) and uuid.UUID(session["uuid"])
        assert (session["workspaceId"], session["title"]) == (workspace["id"], "Mobile app chat")

        status, body = call_capture(
            "user", {"message": "hi"}, tenant_id=tenant, workspace=workspace["id"], session=session["uuid"]
        )
        assert status == 200 and body["userMessage"]["workspaceSessionId"] == session["id"]

    def test_a_session_without_a_body_has_no_title(self, admin):
        tenant = new_tenant(admin)
        _, body = call_create_workspace({"name": "W"}, tenant_id=tenant)
        assert body["workspace"]["configId"] is None
        status, body = call_create_session(None, tenant_id=tenant, workspace=body["workspace"]["id"])
        assert status == 201 and body["session"]["title"] is None

    def test_a_config_id_is_unique_per_tenant_only(self, admin):
        first, second = new_tenant(admin), new_tenant(admin)
        assert call_create_workspace({"name": "A", "configId": "shared"}, tenant_id=first)[0] == 201
        assert call_create_workspace({"name": "B", "configId": "shared"}, tenant_id=first) == (
            409,
            {"error": "A workspace with configId shared already exists"},
        )
        assert call_create_workspace({"name": "C", "configId": "shared"}, tenant_id=second)[0] == 201

    @pytest.mark.parametrize(
        ("body", "error"),
        [
            ({}, "name: is required"),
            ({"name": "  "}, "name: must not be empty"),
            ({"name": 3}, "name: must be a string"),
            ({"name": "W", "configId": "has/slash"}, "configId: 1-200 letters, digits, '_', '.', ':' or '-'"),
            ("{", "Request body must be valid JSON"),
        ],
    )
    def test_bad_workspace_requests_are_refused(self, admin, body, error):
        tenant = new_tenant(admin)
        assert call_create_workspace(body, tenant_id=tenant) == (400, {"error": error})
        assert admin.execute("SELECT count(*) FROM workspaces WHERE tenant_id = %s", (tenant,)).fetchone() == (0,)

    def test_sessions_only_go_into_the_callers_own_workspaces(self, admin):
        session = make_session(admin)
        intruder = new_tenant(admin)
        for workspace in (str(session.workspace_id), "no-such-workspace"):
            answer = call_create_session({"title": "x"}, tenant_id=intruder, workspace=workspace)
            assert answer == (404, {"error": "Workspace not found"})
        assert call_create_session({"title": 5}, tenant_id=session.tenant_id, workspace=str(session.workspace_id)) == (
            400,
            {"error": "title: must be a string"},
        )
        assert admin.execute(
            "SELECT count(*) FROM workspace_sessions WHERE tenant_id = %s", (intruder,)
        ).fetchone() == (0,)


class TestCli:
    def test_workspace_and_session_create(self, admin, database_url, capsys, monkeypatch):
        from devtools.cli import main

        monkeypatch.setenv("DATABASE_URL", database_url)
        tenant = new_tenant(admin)

        assert main(["workspace", "create", "--tenant", str(tenant), "--name", "Ops", "--config-id", "ops"]) == 0
        workspace = json.loads(capsys.readouterr().out)
        assert workspace | {"id": None} == {"id": None, "tenant_id": str(tenant), "config_id": "ops", "name": "Ops"}

        assert main(["session", "create", "--workspace", workspace["id"], "--title", "Night shift"]) == 0
        by_id = json.loads(capsys.readouterr().out)
        assert main(["session", "create", "--workspace", "ops", "--tenant", str(tenant)]) == 0
        by_config_id = json.loads(capsys.readouterr().out)

        assert re.match(WSES, by_id["id"]) and by_id["title"] == "Night shift"
        assert by_id["workspace_id"] == by_config_id["workspace_id"] == workspace["id"]
        status, _ = call_capture(
            "assistant", {"message": "hi"}, tenant_id=tenant, workspace="ops", session=by_config_id["id"]
        )
        assert status == 200
        capsys.readouterr()  # the handler's metrics line

        assert main(["session", "create", "--workspace", "ops"]) == 2
        assert "pass --tenant" in json.loads(capsys.readouterr().err)["error"]
