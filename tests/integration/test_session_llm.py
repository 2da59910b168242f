"""process=true: replies from the language model through Bedrock's Converse API, here a fake Converse endpoint on a
real local port reached through BEDROCK_ENDPOINT_URL by the real boto3 client. A failed reply keeps the user's
message and answers the seed's 500 {success, userMessage, processingError}."""

from __future__ import annotations

import json
import os
import time

import pytest

from devtools.fake_bedrock import sandbox_reply
from devtools.fake_graph import unused_local_url
from tests.support.fakes import FAKE_BEDROCK_MODEL_ID
from tests.support.sessions import capture, make_session, session_messages

USER_KEYS_ON_FAILURE = {"success", "userMessage", "processingError"}


def configure(**settings: str) -> None:
    from threadline.bedrock.client import reset_llm_client

    os.environ.update(settings)
    reset_llm_client()


def ask(session, message: str, **fields):
    return capture("user", session, {"message": message, "process": True, **fields})


def assert_failed_keeping_the_user_message(admin, session, answer, processing_error: str) -> None:
    status, body = answer
    assert status == 500
    assert set(body) == USER_KEYS_ON_FAILURE and body["success"] is True
    assert body["processingError"] == processing_error
    rows = session_messages(admin, session)
    assert [(row["id"], row["direction"]) for row in rows][-1] == (body["userMessage"]["id"], "inbound")
    assert all(row["direction"] == "inbound" for row in rows)


class TestReplies:
    def test_the_reply_is_stored_as_the_assistant_message_and_returned_beside_the_user_message(
        self, admin, fake_bedrock
    ):
        session = make_session(admin)
        fake_bedrock.script(fake_bedrock.text("Hello! Nice to meet you."))

        status, body = ask(session, "Greet me with one line.", claudeSessionId="session_xyz", channel="email")

        assert status == 200
        assert set(body) == {"success", "userMessage", "assistantMessage"} and body["success"] is True
        user, assistant = body["userMessage"], body["assistantMessage"]
        assert set(assistant) == set(user)
        assert (user["role"], user["content"]) == ("user", "Greet me with one line.")
        assert (assistant["role"], assistant["content"], assistant["contentType"]) == (
            "assistant",
            "Hello! Nice to meet you.",
            "text",
        )
        assert assistant["channel"] == "email" and assistant["id"] > user["id"]
        assert assistant["workspaceSessionId"] == user["workspaceSessionId"] == session.public_id
        rows = session_messages(admin, session)
        assert [(row["direction"], row["content"], row["thread_id"]) for row in rows] == [
            ("inbound", "Greet me with one line.", "session_xyz"),
            ("outbound", "Hello! Nice to meet you.", "session_xyz"),
        ]
        assert rows[1]["external_id"] == assistant["uuid"] and rows[1]["author_user_id"] is None

    def test_both_messages_are_shown_as_sent_by_the_calling_agent(self, admin, fake_bedrock):
        from threadline.db.repositories.tenants import insert_user

        session = make_session(admin)
        agent = insert_user(admin, tenant_id=session.tenant_id, name="Ana Agent", email=None)
        fake_bedrock.script(fake_bedrock.text("Hello!"))

        status, body = capture("user", session, {"message": "Hi", "process": True}, user_id=agent.id)

        assert status == 200
        assert body["userMessage"]["username"] == body["assistantMessage"]["username"] == "Ana Agent"

    def test_the_converse_request_carries_model_system_prompt_and_token_limit(self, admin, fake_bedrock):
        configure(BEDROCK_MAX_TOKENS="321", BEDROCK_SYSTEM_PROMPT="You answer in haiku.")
        session = make_session(admin)

        ask(session, "What is 2+2?")

        [request] = fake_bedrock.requests
        assert request.model_id == FAKE_BEDROCK_MODEL_ID
        assert request.json["system"] == [{"text": "You answer in haiku."}]
        assert request.json["inferenceConfig"] == {"maxTokens": 321}
        assert request.json["messages"] == [{"role": "user", "content": [{"text": "What is 2+2?"}]}]
        # SigV4-signed like any Bedrock call.
        assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256")

    def test_a_json_reply_is_stored_as_json(self, admin, fake_bedrock):
        session = make_session(admin)
        events = json.dumps([{"type": "progress", "message": "thinking"}, {"type": "text", "text": "4"}])
        fake_bedrock.script(fake_bedrock.text(events))

        _, body = ask(session, "What is 2+2?")

        assert (body["assistantMessage"]["content"], body["assistantMessage"]["contentType"]) == (events, "json")
        assert session_messages(admin, session)[-1]["content_type"] == "json"

    def test_without_process_the_model_is_not_asked(self, admin, fake_bedrock):
        session = make_session(admin)
        status, body = capture("user", session, {"message": "just logging", "process": False})

        assert status == 200 and body["assistantMessage"] is None
        assert fake_bedrock.requests == []


class TestHistory:
    def test_earlier_turns_go_with_the_request_in_order_with_consecutive_roles_merged(self, admin, fake_bedrock):
        session = make_session(admin)
        capture("assistant", session, {"message": "Welcome! (sent before the user spoke)"})
        capture("user", session, {"message": "My name is Ada."})
        capture("user", session, {"message": "I live in London."})
        capture("assistant", session, {"message": "Nice to meet you, Ada."})

        ask(session, "Where do I live?")

        [request] = fake_bedrock.requests
        # Converse needs alternating roles starting with the user: the leading assistant turn is dropped and the
        # two user messages in a row become one turn.
        assert request.texts == [
            ("user", "My name is Ada.\n\nI live in London."),
            ("assistant", "Nice to meet you, Ada."),
            ("user", "Where do I live?"),
        ]

    def test_the_history_is_bounded_by_the_token_budget_newest_first_without_gaps(self, admin, fake_bedrock):
        # About 4 characters a token plus 4 per message: the new question (~10 tokens) and the newest two turns
        # (~30 each) fit in 75 tokens, the older long turn does not, and neither does anything before it.
        configure(BEDROCK_HISTORY_TOKEN_BUDGET="75")
        session = make_session(admin)
        capture("user", session, {"message": "oldest short"})
        capture("assistant", session, {"message": "x" * 400})
        capture("user", session, {"message": "u" * 100})
        capture("assistant", session, {"message": "a" * 100})

        ask(session, "And now?")

        [request] = fake_bedrock.requests
        assert request.texts == [("user", "u" * 100), ("assistant", "a" * 100), ("user", "And now?")]

    def test_a_zero_budget_sends_only_the_new_message(self, admin, fake_bedrock):
        configure(BEDROCK_HISTORY_TOKEN_BUDGET="0")
        session = make_session(admin)
        capture("user", session, {"message": "earlier"})

        ask(session, "now")

        assert fake_bedrock.requests[0].texts == [("user", "now")]

    def test_claude_session_id_threads_the_history(self, admin, fake_bedrock):
        session = make_session(admin)
        fake_bedrock.script(fake_bedrock.text("A1"), fake_bedrock.text("B1"), fake_bedrock.text("A2"))
        ask(session, "thread A first", claudeSessionId="thread-a")
        ask(session, "thread B first", claudeSessionId="thread-b")

        ask(session, "thread A second", claudeSessionId="thread-a")
        ask(session, "no thread: the whole session")

        requests = fake_bedrock.requests
        assert requests[2].texts == [("user", "thread A first"), ("assistant", "A1"), ("user", "thread A second")]
        assert requests[3].texts == [
            ("user", "thread A first"),
            ("assistant", "A1"),
            ("user", "thread B first"),
            ("assistant", "B1"),
            ("user", "thread A second"),
            ("assistant", "A2"),
            ("user", "no thread: the whole session"),
        ]
        threads = [row["thread_id"] for row in session_messages(admin, session)]
        assert threads == ["thread-a", "thread-a", "thread-b", "thread-b", "thread-a", "thread-a", None, None]

    def test_the_history_never_crosses_sessions(self, admin, fake_bedrock):
        session = make_session(admin)
        neighbour = make_session(admin, session.tenant_id, workspace_id=session.workspace_id)
        capture("user", neighbour, {"message": "secret of the other session", "claudeSessionId": "t"})

        ask(session, "hello", claudeSessionId="t")

        assert fake_bedrock.requests[0].texts == [("user", "hello")]


class TestFailures:
    def test_a_bedrock_validation_error_keeps_the_user_message(self, admin, fake_bedrock):
        session = make_session(admin)
        fake_bedrock.script(fake_bedrock.validation_error("Input is too long for requested model."))

        answer = ask(session, "A very long question")

        assert_failed_keeping_the_user_message(
            admin, session, answer, "The language model refused the request: Input is too long for requested model."
        )
        assert answer[1]["userMessage"]["content"] == "A very long question"
        assert len(fake_bedrock.requests) == 1

    def test_throttling_is_tried_again_and_then_succeeds(self, admin, fake_bedrock):
        session = make_session(admin)
        fake_bedrock.script(fake_bedrock.throttled(), fake_bedrock.text("Sorry for the wait."))

        status, body = ask(session, "hello")

        assert status == 200 and body["assistantMessage"]["content"] == "Sorry for the wait."
        assert len(fake_bedrock.requests) == 2
        assert len(session_messages(admin, session)) == 2

    def test_persistent_throttling_stops_after_the_configured_attempts(self, admin, fake_bedrock):
        configure(BEDROCK_MAX_ATTEMPTS="2")
        session = make_session(admin)
        fake_bedrock.script(fake_bedrock.throttled(), fake_bedrock.throttled(), fake_bedrock.throttled())

        answer = ask(session, "hello")

        assert_failed_keeping_the_user_message(
            admin, session, answer, "The language model is busy (ThrottlingException); try again shortly"
        )
        assert len(fake_bedrock.requests) == 2

    def test_a_server_error_is_tried_again(self, admin, fake_bedrock):
        session = make_session(admin)
        fake_bedrock.script(fake_bedrock.server_error(), fake_bedrock.text("Back again."))

        status, body = ask(session, "hello")

        assert status == 200 and body["assistantMessage"]["content"] == "Back again."

    def test_access_denied_does_not_leak_the_account_or_role(self, admin, fake_bedrock):
        session = make_session(admin)
        fake_bedrock.script(fake_bedrock.access_denied())

        answer = ask(session, "hello")

        assert_failed_keeping_the_user_message(
            admin, session, answer, "The language model could not be called (AccessDeniedException)"
        )
        assert "123456789012" not in json.dumps(answer[1])
        assert len(fake_bedrock.requests) == 1

    def test_a_model_slower_than_the_read_timeout_is_not_waited_for_twice(self, admin, fake_bedrock):
        configure(BEDROCK_READ_TIMEOUT_SECONDS="1")
        session = make_session(admin)
        fake_bedrock.script(fake_bedrock.delayed(3, fake_bedrock.text("too late")))

        started = time.monotonic()
        answer = ask(session, "hello")

        assert time.monotonic() - started < 2.5
        assert_failed_keeping_the_user_message(admin, session, answer, "The language model did not answer in time")
        assert len(fake_bedrock.requests) == 1

    def test_the_function_deadline_bounds_the_call(self, admin, fake_bedrock):
        session = make_session(admin)
        fake_bedrock.script(fake_bedrock.delayed(5, fake_bedrock.text("too late")))

        started = time.monotonic()
        # 4 seconds left in the function: 2.5 are kept to save the reply and answer, so the model gets about 1.
        answer = capture("user", session, {"message": "hello", "process": True}, timeout_seconds=4)

        assert time.monotonic() - started < 3
        assert_failed_keeping_the_user_message(admin, session, answer, "The language model did not answer in time")

    def test_an_unreachable_endpoint_is_reported(self, admin, fake_bedrock):
        configure(BEDROCK_ENDPOINT_URL=unused_local_url(), BEDROCK_MAX_ATTEMPTS="2")
        session = make_session(admin)

        answer = ask(session, "hello")

        assert_failed_keeping_the_user_message(admin, session, answer, "The language model could not be reached")

    def test_an_empty_reply_is_a_processing_error(self, admin, fake_bedrock):
        session = make_session(admin)
        fake_bedrock.script(fake_bedrock.text("   "))

        answer = ask(session, "hello")

        assert_failed_keeping_the_user_message(admin, session, answer, "The language model returned no text")

    def test_no_configured_model_keeps_the_user_message(self, admin, fake_bedrock):
        configure(BEDROCK_MODEL_ID="")
        session = make_session(admin)

        answer = ask(session, "hello")

        assert_failed_keeping_the_user_message(admin, session, answer, "No language model is configured")
        assert fake_bedrock.requests == []

    @pytest.mark.parametrize("body", [{"message": "", "process": True}, {"message": "hi", "process": "true"}])
    def test_bad_input_never_reaches_the_model(self, admin, fake_bedrock, body):
        session = make_session(admin)
        status, _ = capture("user", session, body)

        assert status == 400
        assert fake_bedrock.requests == [] and session_messages(admin, session) == []


class TestSandbox:
    def test_the_unscripted_fake_answers_like_make_devs_sandbox(self, admin, fake_bedrock):
        session = make_session(admin)

        status, body = ask(session, "Is anybody there?")

        assert status == 200
        assert body["assistantMessage"]["content"] == sandbox_reply(fake_bedrock.requests[0])
        assert "Is anybody there?" in body["assistantMessage"]["content"]

    def test_make_dev_starts_the_sandbox_only_when_nothing_is_configured(self):
        from devtools.fake_bedrock import SANDBOX_MODEL_ID, configure_local_bedrock

        environ: dict[str, str] = {}
        local = configure_local_bedrock(environ)
        try:
            assert local.sandbox is not None and "SANDBOX" in local.notice
            assert environ["BEDROCK_MODEL_ID"] == SANDBOX_MODEL_ID
            assert environ["BEDROCK_ENDPOINT_URL"] == local.sandbox.base_url
        finally:
            if local.sandbox is not None:
                local.sandbox.stop()

        configured = {"BEDROCK_MODEL_ID": "us.anthropic.claude-haiku-4-5-20251001-v1:0"}
        assert configure_local_bedrock(configured).sandbox is None
        assert configured == {"BEDROCK_MODEL_ID": "us.anthropic.claude-haiku-4-5-20251001-v1:0"}
        # Empty on purpose: no model, so that processingError can be tried locally.
        assert configure_local_bedrock({"BEDROCK_MODEL_ID": ""}).sandbox is None
