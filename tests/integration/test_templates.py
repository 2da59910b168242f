"""The account's WhatsApp templates: synced from the fake Graph API (every page), listed by GET /v1/templates with
the parameters a send must give, kept current by Meta's template webhooks and the scheduled run, and checked before
a template send reaches Meta."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import psycopg
import pytest

from tests.support.database import table_counts
from tests.support.meta_payloads import post
from tests.support.read import claims_for
from tests.support.routes import call_route
from tests.support.send import WhatsAppTenant, call_send, customer_wrote, make_whatsapp_tenant
from threadline.domain.intake.connections import set_waba_id
from threadline.domain.templates.sync import sync_account_templates, sync_connection_templates

ORDER_UPDATE = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["#1042"]}},
    {"type": "BODY", "text": "Hi {{1}}, your order is {{2}}.", "example": {"body_text": [["Ana", "on its way"]]}},
    {"type": "FOOTER", "text": "Reply STOP to opt out"},
    {
        "type": "BUTTONS",
        "buttons": [
            {
                "type": "URL",
                "text": "Track",
                "url": "https://example.com/t/{{1}}",
                "example": ["https://example.com/t/9"],
            },
            {"type": "QUICK_REPLY", "text": "Thanks"},
            {"type": "COPY_CODE", "example": "SAVE10"},
        ],
    },
]
REMINDER = [
    {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["https://example.com/clinic.png"]}},
    {
        "type": "BODY",
        "text": "Hello {{first_name}}, see you on {{date}}.",
        "example": {
            "body_text_named_params": [
                {"param_name": "first_name", "example": "Ana"},
                {"param_name": "date", "example": "May 4"},
            ]
        },
    },
]
ORDER_UPDATE_SEND = [
    {"type": "header", "parameters": [{"type": "text", "text": "#77"}]},
    {"type": "body", "parameters": [{"type": "text", "text": "Jane"}, {"type": "text", "text": "shipped"}]},
    {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "77"}]},
    {
        "type": "button",
        "sub_type": "copy_code",
        "index": 2,
        "parameters": [{"type": "coupon_code", "coupon_code": "X"}],
    },
]
REMINDER_SEND = [
    {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/a.png"}}]},
    {
        "type": "body",
        "parameters": [
            {"type": "text", "parameter_name": "first_name", "text": "Jane"},
            {"type": "text", "parameter_name": "date", "text": "June 1"},
        ],
    },
]


def new_waba() -> str:
    return str(uuid.uuid4().int)[:15]


@pytest.fixture
def account(admin: psycopg.Connection[Any], fake_graph: Any) -> tuple[WhatsAppTenant, str]:
    """A WhatsApp tenant whose connection records a WABA holding three templates in the fake Graph API."""
    tenant = make_whatsapp_tenant(admin)
    waba = new_waba()
    set_waba_id(admin, tenant.connection_id, waba)
    fake_graph.add_template(waba, "order_update", components=ORDER_UPDATE, template_id="9001")
    fake_graph.add_template(waba, "order_update", language="de", components=ORDER_UPDATE, template_id="9002")
    fake_graph.add_template(
        waba, "appointment_reminder", components=REMINDER, parameter_format="NAMED", template_id="9003"
    )
    fake_graph.add_template(waba, "spring_sale", status="PAUSED", category="MARKETING", template_id="9004")
    sync_account_templates(tenant.tenant_id, waba)
    return tenant, waba


def list_templates(tenant_id: uuid.UUID, **query: str) -> tuple[int, Any]:
    return call_route("GET", "/v1/templates", claims=claims_for(tenant_id), query=query or None)


def template_event(waba: str, field: str, **value: Any) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba, "time": 1769941800, "changes": [{"field": field, "value": value}]}],
    }


class TestSync:
    def test_every_page_is_read_and_a_resync_removes_what_meta_no_longer_lists(self, admin, fake_graph):
        tenant = make_whatsapp_tenant(admin)
        waba = new_waba()
        set_waba_id(admin, tenant.connection_id, waba)
        for number in range(230):
            fake_graph.add_template(waba, f"t_{number:03}")

        first = sync_connection_templates(admin, tenant.connection_id)

        assert [(r.templates, r.removed) for r in first] == [(230, 0)]
        reads = fake_graph.template_requests
        assert len(reads) == 3  # 100 + 100 + 30
        assert "after" not in parse_qs(reads[0].query) and "after" in parse_qs(reads[2].query)
        assert all(parse_qs(read.query)["limit"] == ["100"] for read in reads)

        fake_graph.set_templates(waba, [{"name": "t_000", "language": "en_US", "status": "APPROVED"}])
        second = sync_connection_templates(admin, tenant.connection_id)

        assert [(r.templates, r.removed) for r in second] == [(1, 229)]
        assert [t["name"] for t in list_templates(tenant.tenant_id)[1]["templates"]] == ["t_000"]

    def test_a_failed_page_changes_nothing(self, account, fake_graph):
        tenant, waba = account
        fake_graph.set_templates(waba, [])
        with fake_graph._lock:
            del fake_graph._templates[waba]  # Meta now refuses the WABA (error 100)

        with pytest.raises(Exception, match="template list"):
            sync_account_templates(tenant.tenant_id, waba)

        assert len(list_templates(tenant.tenant_id)[1]["templates"]) == 4

    def test_the_scheduled_run_syncs_every_account(self, admin, fake_graph):
        from threadline.domain.templates.sync import sync_all_templates

        tenant = make_whatsapp_tenant(admin)
        waba = new_waba()
        set_waba_id(admin, tenant.connection_id, waba)
        fake_graph.add_template(waba, "welcome")

        outcome = sync_all_templates()

        assert outcome["accounts_synced"] >= 1
        assert [t["name"] for t in list_templates(tenant.tenant_id)[1]["templates"]] == ["welcome"]

        # Synced a moment ago: the next run leaves the account to the webhooks until it is due again.
        fake_graph.add_template(waba, "goodbye")
        sync_all_templates()
        assert [t["name"] for t in list_templates(tenant.tenant_id)[1]["templates"]] == ["welcome"]


class TestList:
    def test_templates_with_the_parameters_a_send_must_give(self, account):
        tenant, waba = account

        status, body = list_templates(tenant.tenant_id)

        assert status == 200
        names = [(t["name"], t["language"]) for t in body["templates"]]
        assert names == [
            ("appointment_reminder", "en_US"),
            ("order_update", "de"),
            ("order_update", "en_US"),
            ("spring_sale", "en_US"),
        ]
        order = body["templates"][2]
        assert {
            k: order[k] for k in ("waba_id", "template_id", "status", "category", "quality", "parameter_format")
        } == {
            "waba_id": waba,
            "template_id": "9001",
            "status": "APPROVED",
            "category": "UTILITY",
            "quality": "GREEN",
            "parameter_format": "positional",
        }
        assert order["components"] == ORDER_UPDATE
        assert order["parameters"] == {
            "header": {"format": "text", "parameters": [{"name": "1", "example": "#1042"}]},
            "body": [{"name": "1", "example": "Ana"}, {"name": "2", "example": "on its way"}],
            "buttons": [
                {"index": 0, "sub_type": "url", "parameter_type": "text", "example": "https://example.com/t/9"},
                {"index": 2, "sub_type": "copy_code", "parameter_type": "coupon_code", "example": "SAVE10"},
            ],
        }
        reminder = body["templates"][0]
        assert reminder["parameter_format"] == "named"
        assert reminder["parameters"] == {
            "header": {"format": "image", "parameters": []},
            "body": [{"name": "first_name", "example": "Ana"}, {"name": "date", "example": "May 4"}],
            "buttons": [],
        }

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"status": "paused"}, [("spring_sale", "en_US")]),
            ({"name": "order_update"}, [("order_update", "de"), ("order_update", "en_US")]),
            ({"language": "de"}, [("order_update", "de")]),
            ({"status": "APPROVED", "language": "en_US", "name": "order_update"}, [("order_update", "en_US")]),
        ],
    )
    def test_filters(self, account, query, expected):
        tenant, _ = account

        status, body = list_templates(tenant.tenant_id, **query)

        assert status == 200
        assert [(t["name"], t["language"]) for t in body["templates"]] == expected

    def test_pages_walk_every_template_once_and_a_cursor_belongs_to_its_list(self, account):
        tenant, _ = account
        seen: list[tuple[str, str]] = []
        query: dict[str, str] = {"limit": "3"}
        while True:
            status, body = list_templates(tenant.tenant_id, **query)
            assert status == 200
            seen += [(t["name"], t["language"]) for t in body["templates"]]
            if body["next_cursor"] is None:
                break
            query = {"limit": "3", "cursor": body["next_cursor"]}

        assert seen == [
            ("appointment_reminder", "en_US"),
            ("order_update", "de"),
            ("order_update", "en_US"),
            ("spring_sale", "en_US"),
        ]
        cursor = list_templates(tenant.tenant_id, limit="1")[1]["next_cursor"]
        status, body = list_templates(tenant.tenant_id, limit="1", cursor=cursor, status="APPROVED")
        assert (status, body["error"]) == (
            400,
            "cursor is not valid for this list (belongs to another list); start again without it",
        )

    def test_connection_id_narrows_to_that_connection_s_account(self, account, admin):
        tenant, _ = account
        from threadline.domain.intake.connections import create_connection

        other = create_connection(admin, tenant_id=tenant.tenant_id, platform="whatsapp", phone_number_id="5550001")

        assert len(list_templates(tenant.tenant_id, connection_id=tenant.connection_id)[1]["templates"]) == 4
        assert list_templates(tenant.tenant_id, connection_id=other.connection.connection_id) == (
            200,
            {"templates": [], "next_cursor": None},
        )

    @pytest.mark.parametrize(
        ("query", "error"),
        [
            ({"language": "english!"}, "language must be a language code such as en or en_US"),
            ({"status": "APPROVED;"}, "status must be a template status such as APPROVED"),
            ({"connection_id": "no such/thing"}, "connection_id must be a connection id"),
            ({"limit": "0"}, "limit must be an integer between 1 and 100"),
            ({"cursor": "garbage!"}, "cursor is not valid for this list"),
            ({"connection_id": "wa_unknown"}, "connection_id 'wa_unknown' is not a connection of this tenant"),
        ],
    )
    def test_bad_queries_are_400s(self, account, query, error):
        tenant, _ = account

        status, body = list_templates(tenant.tenant_id, **query)

        assert status == 400
        assert body["error"].startswith(error)

    def test_another_tenant_sees_none_of_them(self, account, admin):
        other = make_whatsapp_tenant(admin)

        assert list_templates(other.tenant_id) == (200, {"templates": [], "next_cursor": None})


@pytest.mark.usefixtures("meta_secrets")
class TestWebhooks:
    def status_of(self, tenant: WhatsAppTenant, name: str, language: str = "en_US") -> dict[str, Any]:
        body = list_templates(tenant.tenant_id, name=name, language=language)[1]
        return body["templates"][0]

    def test_status_events_move_the_status_and_flagged_does_not(self, account):
        tenant, waba = account

        answer = post(
            template_event(
                waba,
                "message_template_status_update",
                event="PAUSED",
                message_template_id=9001,
                message_template_name="order_update",
                message_template_language="en_US",
                reason="LOW_QUALITY",
            )
        )
        assert answer.status == 200
        assert (
            self.status_of(tenant, "order_update")["status"],
            self.status_of(tenant, "order_update")["last_event"],
        ) == (
            "PAUSED",
            "PAUSED",
        )

        post(template_event(waba, "message_template_status_update", event="REINSTATED", message_template_id=9001))
        post(template_event(waba, "message_template_status_update", event="FLAGGED", message_template_id=9001))

        template = self.status_of(tenant, "order_update")
        assert (template["status"], template["last_event"]) == ("APPROVED", "FLAGGED")

    def test_quality_and_category_updates(self, account):
        tenant, waba = account

        post(
            template_event(
                waba,
                "message_template_quality_update",
                previous_quality_score="GREEN",
                new_quality_score="YELLOW",
                message_template_id=9003,
                message_template_name="appointment_reminder",
                message_template_language="en_US",
            )
        )
        post(
            template_event(
                waba,
                "template_category_update",
                message_template_id=9003,
                message_template_name="appointment_reminder",
                message_template_language="en_US",
                previous_category="UTILITY",
                new_category="MARKETING",
            )
        )

        template = self.status_of(tenant, "appointment_reminder")
        assert (template["quality"], template["category"], template["status"]) == ("YELLOW", "MARKETING", "APPROVED")

    def test_an_announced_category_change_keeps_the_current_category(self, account):
        tenant, waba = account

        post(
            template_event(
                waba,
                "template_category_update",
                message_template_id=9001,
                message_template_name="order_update",
                message_template_language="en_US",
                correct_category="MARKETING",
                new_category="UTILITY",
                category_update_timestamp=1769941800,
            )
        )

        assert self.status_of(tenant, "order_update")["category"] == "UTILITY"

    def test_an_unknown_account_or_template_or_shape_is_acknowledged_and_writes_nothing(self, account, admin):
        tenant, waba = account
        before = table_counts(admin)

        for payload in (
            template_event(new_waba(), "message_template_status_update", event="APPROVED", message_template_id=1),
            template_event(waba, "message_template_status_update", event="REJECTED", message_template_id=123),
            template_event(waba, "message_template_quality_update", new_quality_score={"not": "a string"}),
        ):
            assert post(payload).status == 200

        assert table_counts(admin) == before
        assert self.status_of(tenant, "order_update")["status"] == "APPROVED"

    def test_the_sample_event_is_signed_with_the_local_app_secret_and_pauses_the_template(
        self, admin, fake_graph, monkeypatch
    ):
        from devtools.localenv import LOCAL_META_APP_SECRET
        from tests.support.meta_payloads import invoke
        from tests.support.paths import load_event
        from threadline.meta.config import get_meta_settings

        monkeypatch.setenv("META_APP_SECRET", LOCAL_META_APP_SECRET)
        get_meta_settings.cache_clear()
        tenant = make_whatsapp_tenant(admin)
        set_waba_id(admin, tenant.connection_id, "102290129340398")
        fake_graph.add_template("102290129340398", "order_update", template_id="100000000000001")
        sync_account_templates(tenant.tenant_id, "102290129340398")

        assert invoke(load_event("whatsapp-webhook-template-status.json")).status == 200

        template = self.status_of(tenant, "order_update")
        assert (template["status"], template["last_event"]) == ("PAUSED", "PAUSED")

    def test_an_unsigned_template_webhook_is_401_and_changes_nothing(self, account):
        tenant, waba = account

        answer = post(
            template_event(waba, "message_template_status_update", event="DISABLED", message_template_id=9001),
            secret=None,
        )

        assert answer.status == 401
        assert self.status_of(tenant, "order_update")["status"] == "APPROVED"


class TestSendCheck:
    @pytest.fixture
    def conversation(self, account) -> int:
        tenant, _ = account
        return customer_wrote(tenant, phone="+16505550199", ago=timedelta(hours=30))

    def send(self, tenant: WhatsAppTenant, conversation: int, template: dict[str, Any]) -> tuple[int, Any]:
        return call_send(
            {"template": template},
            tenant_id=tenant.tenant_id,
            event_file="conversation-send-v1.json",
            conversation_id=conversation,
        )

    @pytest.mark.parametrize(
        ("template", "error"),
        [
            (
                {"name": "welcome", "language": "en_US"},
                "template 'welcome' is not a template of WhatsApp Business Account",
            ),
            (
                {"name": "order_update", "language": "fr", "components": ORDER_UPDATE_SEND},
                "template 'order_update' has no language 'fr' (it has de, en_US)",
            ),
            (
                {"name": "spring_sale", "language": "en_US"},
                "template 'spring_sale' (en_US) is PAUSED; only APPROVED templates can be sent",
            ),
            (
                {"name": "order_update", "language": "en_US", "components": ORDER_UPDATE_SEND[1:]},
                "template 'order_update' (en_US): header: missing its text parameter",
            ),
            (
                {
                    "name": "order_update",
                    "language": "en_US",
                    "components": [
                        ORDER_UPDATE_SEND[0],
                        {"type": "body", "parameters": [{"type": "text", "text": "Jane"}]},
                        *ORDER_UPDATE_SEND[2:],
                    ],
                },
                "template 'order_update' (en_US): body: missing parameters: expected 2 (1, 2), got 1",
            ),
            (
                {
                    "name": "order_update",
                    "language": "en_US",
                    "components": [
                        *ORDER_UPDATE_SEND,
                        {
                            "type": "button",
                            "sub_type": "url",
                            "index": 3,
                            "parameters": [{"type": "text", "text": "x"}],
                        },
                    ],
                },
                "template 'order_update' (en_US): button 3: the template's button 3 takes no parameters",
            ),
            (
                {"name": "order_update", "language": "en_US", "components": ORDER_UPDATE_SEND[:2]},
                "template 'order_update' (en_US): button 0: missing its text parameter (sub_type url); button 2:",
            ),
            (
                {
                    "name": "appointment_reminder",
                    "language": "en_US",
                    "components": [
                        REMINDER_SEND[0],
                        {
                            "type": "body",
                            "parameters": [{"type": "text", "text": "Jane"}, {"type": "text", "text": "x"}],
                        },
                    ],
                },
                "template 'appointment_reminder' (en_US): body: this template uses named parameters, so every"
                " parameter needs parameter_name (expected: first_name, date)",
            ),
            (
                {
                    "name": "appointment_reminder",
                    "language": "en_US",
                    "components": [
                        {"type": "body", "parameters": [{"type": "text", "parameter_name": "nickname", "text": "J"}]}
                    ],
                },
                "template 'appointment_reminder' (en_US): header: missing its image parameter; body: missing"
                " parameters first_name, date; body: unknown parameters nickname",
            ),
        ],
    )
    def test_a_send_the_template_does_not_allow_is_400_and_nothing_is_written(
        self, account, conversation, admin, fake_graph, template, error
    ):
        tenant, _ = account
        before = table_counts(admin)

        status, body = self.send(tenant, conversation, template)

        assert status == 400, body
        assert body["error"].startswith(error), body["error"]
        assert table_counts(admin) == before
        assert fake_graph.send_requests == []

    @pytest.mark.parametrize(
        ("name", "components"), [("order_update", ORDER_UPDATE_SEND), ("appointment_reminder", REMINDER_SEND)]
    )
    def test_a_send_the_template_allows_goes_to_meta(self, account, conversation, fake_graph, name, components):
        tenant, _ = account

        status, body = self.send(tenant, conversation, {"name": name, "language": "en_US", "components": components})

        assert status == 201, body
        assert [request.json["template"]["name"] for request in fake_graph.send_requests] == [name]

    def test_an_account_never_synced_refuses_template_sends_and_says_why(self, admin, fake_graph):
        tenant = make_whatsapp_tenant(admin)
        set_waba_id(admin, tenant.connection_id, new_waba())
        conversation = customer_wrote(tenant, phone="+16505550197", ago=timedelta(hours=30))

        status, body = self.send(tenant, conversation, {"name": "order_update", "language": "en_US"})

        assert status == 400
        assert "no template of WhatsApp Business Account" in body["error"]
        assert "synced yet" in body["error"]
        assert fake_graph.send_requests == []

    def test_a_connection_without_an_account_sends_unchecked(self, admin, fake_graph):
        tenant = make_whatsapp_tenant(admin)
        conversation = customer_wrote(tenant, phone="+16505550198", ago=timedelta(hours=30))

        status, body = self.send(tenant, conversation, {"name": "anything", "language": "en_US"})

        assert status == 201, body
        assert len(fake_graph.send_requests) == 1


def test_a_template_name_with_a_nul_is_a_400_naming_the_field(admin):
    """Found by the schema fuzzer: a NUL in `name` reached PostgreSQL (which refuses NUL in text) and answered 500."""
    from tests.support.factories import new_tenant
    from tests.support.routes import call_route, service_claims

    tenant_id = new_tenant(admin)

    status, body = call_route(
        "GET", "/v1/templates", query={"name": "order\x00update"}, claims=service_claims(tenant_id)
    )

    assert (status, body) == (400, {"error": "name must be 1 to 512 characters, without NUL"})
