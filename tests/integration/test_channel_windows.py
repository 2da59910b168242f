"""A reply window per conversation, by its channel's rule (migration 0018, threadline.channels): through the ingest,
send and conversation routes (tests/support/routes.py), with Meta and a connector as local HTTP servers.

WhatsApp: 24 hours per business number. WeChat: 48 hours and at most 5 replies per window. Telegram and Signal: none.
Each connection may change its rule (`threadline connection create/update --reply-window-hours/--max-replies-per-window`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests

from devtools.fake_server import Answer, RecordedRequest, ScriptedHttpFake
from tests.support.factories import new_tenant
from tests.support.routes import call_route, service_claims
from tests.support.send import WhatsAppTenant, call_send, customer_wrote, make_whatsapp_tenant, outbound_messages

PHONE = "+447700900123"
CONVERSATION_SEND = "conversation-send-seed-path.json"


def send_to_conversation(tenant_id: uuid.UUID, conversation_id: int, content: str = "Thanks!") -> tuple[int, Any]:
    return call_send(
        {"content": content}, tenant_id=tenant_id, event_file=CONVERSATION_SEND, conversation_id=conversation_id
    )


def window_of(tenant_id: uuid.UUID, conversation_id: int) -> dict[str, Any]:
    """The conversation's `window` as GET /v1/conversations/{id} answers it."""
    status, body = call_route("GET", f"/v1/conversations/{conversation_id}", claims=service_claims(tenant_id))
    assert status == 200, body
    return body["window"]


def listed_windows(tenant_id: uuid.UUID) -> dict[int, dict[str, Any]]:
    status, body = call_route("GET", "/v1/conversations", claims=service_claims(tenant_id))
    assert status == 200, body
    return {item["id"]: item["window"] for item in body["conversations"]}


def last_inbound_at(admin: psycopg.Connection[Any], conversation_id: int) -> datetime:
    row = admin.execute("SELECT last_inbound_at FROM conversations WHERE id = %s", (conversation_id,)).fetchone()
    assert row is not None and row[0] is not None
    return row[0]


def js(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def connector_tenant(make_connector: Any, platform: str, tenant_id: uuid.UUID | None = None) -> WhatsAppTenant:
    connector = make_connector(platform, tenant_id=tenant_id)
    return WhatsAppTenant(connector.tenant_id, connector.connection_id, connector.api_secret, "")


def second_whatsapp_number(admin: psycopg.Connection[Any], tenant: WhatsAppTenant) -> WhatsAppTenant:
    from threadline.domain.intake.connections import create_connection

    phone_number_id = str(uuid.uuid4().int)[:15]
    created = create_connection(
        admin,
        tenant_id=tenant.tenant_id,
        platform="whatsapp",
        connection_id=f"wa_{uuid.uuid4().hex[:12]}",
        phone_number_id=phone_number_id,
    )
    return WhatsAppTenant(tenant.tenant_id, created.connection.connection_id, created.api_secret, phone_number_id)


@pytest.fixture
def tenant(admin: psycopg.Connection[Any]) -> WhatsAppTenant:
    return make_whatsapp_tenant(admin)


# ---------------------------------------------------------------------------------------------------------------
# A connector channel that answers synchronously: a one-adapter channel (threadline.channels.base.Channel) posting
# to a local connector, to hold WeChat's cap and a channel's refusal through the real send path. The real
# connector-callback adapter, which delivers after the request, is tests/integration/test_connector_callbacks.py's.
# ---------------------------------------------------------------------------------------------------------------


class FakeConnector(ScriptedHttpFake[RecordedRequest, int]):
    """A connector's callback endpoint: answers 200 {"external_id": "wx_<n>"}, or a scripted error status."""

    request_type = RecordedRequest
    name = "the fake connector"
    thread_name = "fake-connector"

    def _answer(self, request: RecordedRequest) -> Answer | None:
        status = self._receive(request, scripted=True) or 200
        body = {"external_id": f"wx_{len(self.requests)}"} if status == 200 else {"error": "refused"}
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


@dataclass(frozen=True)
class LocalCallbackChannel:
    url: str
    platform: str = "wechat"
    provider: str = "The connector"
    templates_outside_window: bool = False

    @property
    def default_reply_rule(self) -> Any:
        from threadline.channels import ReplyRule

        return ReplyRule(window_hours=48, max_replies=5)

    def check_can_send(self) -> None:
        return None

    def route(self, target: Any) -> Any:
        from threadline.channels.base import ChannelRoute

        return ChannelRoute(sender=target.connection_id, recipient=target.external_conversation_id)

    def stage(self, conn: Any, message: Any) -> None:
        return None

    def send(self, message: Any, *, deadline: float) -> Any:
        from threadline.channels.base import Refused, Sent

        answer = requests.post(
            self.url,
            json={"message_id": message.message_id, "to": message.route.recipient, "content": message.content.text},
            timeout=5,
        )
        if answer.status_code != 200:
            return Refused(code=answer.status_code, title="Refused by the connector")
        return Sent(external_id=answer.json()["external_id"])


@pytest.fixture
def wechat_connector() -> Iterator[FakeConnector]:
    from threadline.channels import channel_for, register_channel

    placeholder = channel_for("wechat")
    with FakeConnector() as connector:
        register_channel(LocalCallbackChannel(url=f"{connector.base_url}/outbound"))  # type: ignore[arg-type]
        try:
            yield connector
        finally:
            register_channel(placeholder)


# ---------------------------------------------------------------------------------------------------------------


class TestWindowsBelongToTheConversationsChannel:
    def test_a_signal_message_no_longer_opens_the_whatsapp_window(self, admin, fake_graph, tenant, make_connector):
        whatsapp = customer_wrote(tenant, phone=PHONE, ago=timedelta(hours=30))
        signal = customer_wrote(
            connector_tenant(make_connector, "signal", tenant.tenant_id),
            phone=PHONE,
            ago=timedelta(minutes=5),
            platform="signal",
        )
        assert admin.execute(
            "SELECT count(DISTINCT contact_id) FROM conversations WHERE id = ANY(%s)", ([whatsapp, signal],)
        ).fetchone() == (1,)  # one customer on two channels

        assert window_of(tenant.tenant_id, whatsapp)["status"] == "expired"
        assert window_of(tenant.tenant_id, signal) == {"status": "none", "expires_at": None}
        assert call_send({"recipient": PHONE, "body": "Hi"}, tenant_id=tenant.tenant_id) == (
            400,
            {"error": "Session window expired"},
        )
        assert send_to_conversation(tenant.tenant_id, whatsapp) == (400, {"error": "Session window expired"})
        assert fake_graph.send_requests == []

    def test_two_whatsapp_numbers_keep_separate_windows(self, admin, fake_graph, tenant):
        other_number = second_whatsapp_number(admin, tenant)
        stale = customer_wrote(tenant, phone=PHONE, ago=timedelta(hours=25))
        fresh = customer_wrote(other_number, phone=PHONE, ago=timedelta(hours=2))

        assert window_of(tenant.tenant_id, stale)["status"] == "expired"
        assert window_of(tenant.tenant_id, fresh) == {
            "status": "open",
            "expires_at": js(last_inbound_at(admin, fresh) + timedelta(hours=24)),
        }
        assert send_to_conversation(tenant.tenant_id, stale) == (400, {"error": "Session window expired"})
        status, body = send_to_conversation(tenant.tenant_id, fresh)
        assert status == 201, body
        # Sent from the number the customer wrote to.
        assert [request.path.split("/")[-2] for request in fake_graph.send_requests] == [other_number.phone_number_id]

    def test_send_by_phone_answers_from_the_number_the_customer_wrote_to_last(self, admin, fake_graph, tenant):
        other_number = second_whatsapp_number(admin, tenant)
        customer_wrote(tenant, phone=PHONE, ago=timedelta(hours=20))
        latest = customer_wrote(other_number, phone=PHONE, ago=timedelta(hours=1))

        status, body = call_send({"recipient": PHONE, "body": "Hello again"}, tenant_id=tenant.tenant_id)

        assert status == 200, body
        assert body["message"]["conversation_id"] == latest
        assert [request.path.split("/")[-2] for request in fake_graph.send_requests] == [other_number.phone_number_id]

    @pytest.mark.parametrize("platform", ["telegram", "signal"])
    def test_telegram_and_signal_have_no_window_however_old_the_last_message(self, admin, make_connector, platform):
        connector = connector_tenant(make_connector, platform)
        conversation_id = customer_wrote(connector, phone="@johndoe", ago=timedelta(days=30), platform=platform)

        assert window_of(connector.tenant_id, conversation_id) == {"status": "none", "expires_at": None}
        assert listed_windows(connector.tenant_id)[conversation_id] == {"status": "none", "expires_at": None}
        row = admin.execute("SELECT window_expires_at FROM conversations WHERE id = %s", (conversation_id,)).fetchone()
        assert row == (None,)  # nothing for the expiry job to notice
        # A refusal there is the connector channel's own (no outbound_url configured), never a window's.
        status, body = send_to_conversation(connector.tenant_id, conversation_id)
        assert status == 400 and "has no outbound_url" in body["error"]


class TestWeChat:
    def test_the_window_is_48_hours_with_5_replies(self, admin, make_connector):
        connector = connector_tenant(make_connector, "wechat")
        recent = customer_wrote(connector, phone="wx_follower_1", ago=timedelta(hours=47), platform="wechat")
        old = customer_wrote(connector, phone="wx_follower_2", ago=timedelta(hours=49), platform="wechat")

        windows = listed_windows(connector.tenant_id)

        assert windows[recent] == {
            "status": "open",
            "expires_at": js(last_inbound_at(admin, recent) + timedelta(hours=48)),
            "replies_left": 5,
        }
        assert windows[old]["status"] == "expired" and windows[old]["replies_left"] == 0

    def test_the_sixth_reply_is_refused_until_the_customer_writes_again(self, admin, make_connector, wechat_connector):
        connector = connector_tenant(make_connector, "wechat")
        conversation_id = customer_wrote(
            connector, phone="wx_follower", ago=timedelta(minutes=5), conversation="wx_chat", platform="wechat"
        )

        for n in range(5):
            status, body = send_to_conversation(connector.tenant_id, conversation_id, f"reply {n}")
            assert status == 201, body
            assert window_of(connector.tenant_id, conversation_id)["replies_left"] == 4 - n

        status, body = send_to_conversation(connector.tenant_id, conversation_id, "one too many")

        assert (status, body) == (
            400,
            {
                "error": "Reply limit reached: this channel allows 5 replies per window; "
                "the customer's next message opens a new window"
            },
        )
        assert len(wechat_connector.requests) == 5
        assert len(outbound_messages(admin, connector.tenant_id)) == 5  # the refused one was never written

        customer_wrote(
            connector, phone="wx_follower", ago=timedelta(seconds=1), conversation="wx_chat", platform="wechat"
        )

        assert window_of(connector.tenant_id, conversation_id)["replies_left"] == 5
        assert send_to_conversation(connector.tenant_id, conversation_id, "a new window")[0] == 201
        assert len(wechat_connector.requests) == 6

    def test_a_reply_the_channel_refused_gives_its_place_back(self, admin, make_connector, wechat_connector):
        connector = connector_tenant(make_connector, "wechat")
        conversation_id = customer_wrote(connector, phone="wx_other", ago=timedelta(minutes=5), platform="wechat")
        wechat_connector.script(500)

        status, body = send_to_conversation(connector.tenant_id, conversation_id)

        assert status == 502 and body["error"] == "The connector refused the message: Refused by the connector"
        assert window_of(connector.tenant_id, conversation_id)["replies_left"] == 5
        [failed] = outbound_messages(admin, connector.tenant_id)
        assert (failed["status"], failed["error_code"]) == ("failed", 500)


class TestPerConnectionRules:
    def test_a_whatsapp_connection_can_cap_replies_and_lengthen_its_window(self, admin, fake_graph, tenant):
        from threadline.domain.intake.connections import update_reply_rule

        conversation_id = customer_wrote(tenant, phone=PHONE, ago=timedelta(hours=30))
        assert window_of(tenant.tenant_id, conversation_id)["status"] == "expired"

        update_reply_rule(admin, tenant.connection_id, reply_window_hours=48, max_replies_per_window=1)

        # The open window follows the new rule at once: 48 hours from the customer's last message.
        assert window_of(tenant.tenant_id, conversation_id) == {
            "status": "open",
            "expires_at": js(last_inbound_at(admin, conversation_id) + timedelta(hours=48)),
            "replies_left": 1,
        }
        assert send_to_conversation(tenant.tenant_id, conversation_id)[0] == 201
        assert send_to_conversation(tenant.tenant_id, conversation_id)[1]["error"].startswith("Reply limit reached")
        assert len(fake_graph.send_requests) == 1

    def test_none_clears_the_window(self, admin, fake_graph, tenant):
        from threadline.domain.intake.connections import update_reply_rule

        conversation_id = customer_wrote(tenant, phone=PHONE, ago=timedelta(days=3))

        record = update_reply_rule(admin, tenant.connection_id, reply_window_hours=None)

        assert (record.reply_window_hours, record.max_replies_per_window) == (None, None)
        assert window_of(tenant.tenant_id, conversation_id) == {"status": "none", "expires_at": None}
        assert send_to_conversation(tenant.tenant_id, conversation_id)[0] == 201

    def test_a_window_meta_closed_early_stays_closed_when_the_rule_changes(self, admin, fake_graph, tenant):
        from threadline.domain.intake.connections import update_reply_rule

        conversation_id = customer_wrote(tenant, phone=PHONE, ago=timedelta(hours=1))
        fake_graph.script(fake_graph.meta_error(131047, "Re-engagement message"))
        assert send_to_conversation(tenant.tenant_id, conversation_id) == (400, {"error": "Session window expired"})

        update_reply_rule(admin, tenant.connection_id, reply_window_hours=48)

        assert window_of(tenant.tenant_id, conversation_id)["status"] == "expired"

    def test_the_cli_creates_and_updates_a_connections_rule(self, database_url, admin, capsys, monkeypatch):
        from devtools.cli import main

        monkeypatch.setenv("DATABASE_URL", database_url)
        tenant_id = new_tenant(admin)

        def cli(*args: str) -> tuple[int, Any]:
            try:
                status = main(list(args))
            except SystemExit as usage_error:  # argparse's refusals leave through sys.exit, as on a terminal
                status = int(usage_error.code or 0)
            out = capsys.readouterr()
            return status, json.loads(out.out if status == 0 else out.err)

        status, made = cli("connection", "create", "--tenant", str(tenant_id), "--platform", "wechat")
        assert status == 0, made
        assert (made["reply_window_hours"], made["max_replies_per_window"]) == (48, 5)

        assert cli("connection", "update", made["connection_id"], "--max-replies-per-window", "none") == (
            0,
            {
                "connection_id": made["connection_id"],
                "platform": "wechat",
                "reply_window_hours": 48,
                "max_replies_per_window": None,
            },
        )
        status, telegram = cli(
            "connection", "create", "--tenant", str(tenant_id), "--platform", "telegram", "--reply-window-hours", "12"
        )
        assert (status, telegram["reply_window_hours"], telegram["max_replies_per_window"]) == (0, 12, None)

        for bad in (("--reply-window-hours", "0"), ("--max-replies-per-window", "many")):
            status, refused = cli("connection", "update", made["connection_id"], *bad)
            assert status == 2 and "a positive integer or none" in refused["error"]
        assert cli("connection", "update", made["connection_id"], "--reply-window-hours", "9000") == (
            2,
            {"error": "reply_window_hours must be 1 to 8760, or none"},
        )
        assert cli("connection", "update", "no_such_connection", "--reply-window-hours", "24") == (
            2,
            {"error": "No connection no_such_connection"},
        )
        # A refused update changed nothing.
        assert admin.execute(
            "SELECT reply_window_hours, max_replies_per_window FROM connections WHERE connection_id = %s",
            (made["connection_id"],),
        ).fetchone() == (48, None)


class TestTheRulesAreWrittenOnce:
    def test_every_platforms_sql_default_is_its_channel_adapters(self, admin):
        """The trigger's fallback for a conversation without a connection (migration 0018) and the adapters'
        defaults (a new connection's rule) say the same for every platform."""
        from threadline.channels import default_reply_rule
        from threadline.vocabulary import PLATFORMS

        for platform in PLATFORMS:
            sql_rule = admin.execute(
                "SELECT platform_reply_window_hours(%s), platform_max_replies_per_window(%s)", (platform, platform)
            ).fetchone()
            rule = default_reply_rule(platform)
            assert sql_rule == (rule.window_hours, rule.max_replies), platform

    def test_a_new_connection_starts_with_its_channels_rule(self, make_connector, admin):
        from threadline.channels import default_reply_rule
        from threadline.vocabulary import PLATFORMS

        for platform in PLATFORMS:
            connector = make_connector(platform)
            stored = admin.execute(
                "SELECT reply_window_hours, max_replies_per_window FROM connections WHERE connection_id = %s",
                (connector.connection_id,),
            ).fetchone()
            rule = default_reply_rule(platform)
            assert stored == (rule.window_hours, rule.max_replies), platform
