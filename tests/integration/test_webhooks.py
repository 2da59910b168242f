"""Signed webhooks (issue 11 §2), through the routes and the dispatcher's own code, delivered over real HTTP to an
independent local receiver that verifies signatures as docs/webhooks.md says."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from devtools.webhook_receiver import Reply, WebhookReceiver, delayed, verify
from tests.support.event_log import read_events
from tests.support.inbox import Answer, Inbox, call, customer_writes, make_inbox
from threadline.delivery import transport
from threadline.delivery.addresses import AddressRefused, resolve_destination
from threadline.delivery.dispatcher import dispatch, sweep_deliveries
from threadline.delivery.queue import QUEUE_URL_VARIABLE, QueuedDelivery, reset_queue_clients
from threadline.domain.events.targets import TARGET_KINDS


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def subscribe(inbox: Inbox, url: str, events: list[str] | None = None) -> dict[str, Any]:
    answer = call("POST", "/v1/webhooks", claims=inbox.claims(), body={"url": url, "events": events or ["*"]})
    assert answer.status == 201, answer.body
    return answer.body


def deliveries(inbox: Inbox, webhook_id: str) -> list[dict[str, Any]]:
    answer = call("GET", f"/v1/webhooks/{webhook_id}/deliveries", claims=inbox.claims())
    assert answer.status == 200, answer.body
    return answer.body["deliveries"]


def queued(inbox: Inbox, delivery: dict[str, Any]) -> list[QueuedDelivery]:
    return [QueuedDelivery(inbox.tenant_id, uuid.UUID(delivery["id"]))]


def test_a_delivery_is_signed_so_an_independent_receiver_verifies_it(make_connector, admin, receiver):
    # Given a webhook for new messages only
    inbox = make_inbox(make_connector, admin)
    webhook = subscribe(inbox, receiver.url, ["message.created"])
    assert webhook["secret"].startswith("whsec_") and webhook["events"] == ["message.created"]
    # When a customer writes and the scheduled sweep runs (no queue here: it delivers itself)
    conversation_id = customer_writes(inbox, "chat_hook_signed")
    sweep_deliveries(kinds=TARGET_KINDS)
    # Then the receiver got one POST whose signature verifies with the secret, and only with it
    [request] = receiver.requests
    signature = request.headers["threadline-signature"]
    assert verify(webhook["secret"], signature, request.body)
    assert not verify("whsec_someone-else", signature, request.body)
    assert not verify(webhook["secret"], signature, request.body + b" ")
    body = json.loads(request.body)
    assert set(body) == {"id", "event", "seq", "occurred_at", "tenant_id", "data"}
    assert body["event"] == request.headers["threadline-event"] == "message.created"
    assert body["id"] == request.headers["threadline-delivery"]
    assert body["tenant_id"] == str(inbox.tenant_id) and body["data"]["direction"] == "inbound"
    # And its seq is the event's in the log
    [event] = read_events(inbox.claims(), types="message.created").body["events"]
    assert body["seq"] == event["seq"] and event["conversation_id"] == conversation_id
    # And the delivery is recorded as delivered
    [delivery] = deliveries(inbox, webhook["id"])
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1 and delivery["last_response_status"] == 200
    assert delivery["next_attempt_at"] is None


def test_the_secret_is_shown_once_and_sealed_at_rest(make_connector, admin, receiver):
    inbox = make_inbox(make_connector, admin)
    webhook = subscribe(inbox, receiver.url)
    listed = call("GET", "/v1/webhooks", claims=inbox.claims()).body["webhooks"]
    assert [item["id"] for item in listed] == [webhook["id"]]
    assert "secret" not in listed[0]
    stored = admin.execute(
        "SELECT secret_ciphertext FROM webhook_subscriptions WHERE id = %s", (webhook["id"],)
    ).fetchone()[0]
    assert webhook["secret"].encode() not in bytes(stored)


def test_500s_and_a_timeout_are_retried_then_delivered_under_one_delivery_id(
    make_connector, admin, receiver, monkeypatch
):
    monkeypatch.setattr(transport, "ANSWER_TIMEOUT_SECONDS", 0.5)
    inbox = make_inbox(make_connector, admin)
    webhook = subscribe(inbox, receiver.url, ["conversation.created"])
    receiver.script(Reply(500), Reply(503), delayed(3), Reply(200))
    customer_writes(inbox, "chat_hook_retry")
    [delivery] = deliveries(inbox, webhook["id"])
    clock = datetime.now(UTC)
    outcomes = []
    for attempt in range(4):
        # Each attempt once the previous one's backoff has passed (the clock is the dispatcher's)
        result = dispatch(queued(inbox, delivery), now=clock, kinds=TARGET_KINDS)
        outcomes.append((result.delivered, result.retrying))
        state = deliveries(inbox, webhook["id"])[0]
        if state["status"] == "pending":
            assert state["attempts"] == attempt + 1
            due = datetime.fromisoformat(state["next_attempt_at"].replace("Z", "+00:00"))
            assert due > clock  # backed off
            clock = due
    assert outcomes == [(0, 1), (0, 1), (0, 1), (1, 0)]
    final = deliveries(inbox, webhook["id"])[0]
    assert final["status"] == "delivered" and final["attempts"] == 4 and final["last_response_status"] == 200
    # Every attempt carried the same delivery id and body, freshly signed
    ids = {request.headers["threadline-delivery"] for request in receiver.requests}
    assert ids == {delivery["id"]}
    assert len({request.body for request in receiver.requests}) == 1
    assert len(receiver.requests) == 4


def test_a_delivery_dies_after_24_hours_of_failures_and_can_be_redelivered(make_connector, admin, receiver):
    inbox = make_inbox(make_connector, admin)
    webhook = subscribe(inbox, receiver.url, ["conversation.created"])
    receiver.script(Reply(500), Reply(500))
    customer_writes(inbox, "chat_hook_dead")
    [delivery] = deliveries(inbox, webhook["id"])
    # A first failure is retried; one a day later is the end
    dispatch(queued(inbox, delivery), now=datetime.now(UTC), kinds=TARGET_KINDS)
    assert deliveries(inbox, webhook["id"])[0]["status"] == "pending"
    dispatch(queued(inbox, delivery), now=datetime.now(UTC) + timedelta(hours=25), kinds=TARGET_KINDS)
    dead = deliveries(inbox, webhook["id"])[0]
    assert dead["status"] == "dead" and dead["attempts"] == 2 and dead["last_response_status"] == 500
    assert dead["next_attempt_at"] is None
    # The sweep leaves it alone
    sweep_deliveries(now=datetime.now(UTC) + timedelta(hours=26), kinds=TARGET_KINDS)
    assert len(receiver.requests) == 2
    # When the integration asks for it again, it goes out (the receiver is back) under the same id
    answer = call("POST", f"/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}/redeliver", claims=inbox.claims())
    assert answer.status == 202 and answer.body["status"] == "pending" and answer.body["id"] == delivery["id"]
    sweep_deliveries(kinds=TARGET_KINDS)
    again = deliveries(inbox, webhook["id"])[0]
    assert again["status"] == "delivered" and again["attempts"] == 3
    assert receiver.requests[-1].headers["threadline-delivery"] == delivery["id"]


def test_a_410_disables_the_subscription(make_connector, admin, receiver):
    inbox = make_inbox(make_connector, admin)
    webhook = subscribe(inbox, receiver.url, ["message.created"])
    receiver.script(Reply(410))
    customer_writes(inbox, "chat_hook_gone")
    customer_writes(inbox, "chat_hook_gone")
    [second, first] = deliveries(inbox, webhook["id"])
    dispatch(queued(inbox, first), kinds=TARGET_KINDS)
    [listed] = call("GET", "/v1/webhooks", claims=inbox.claims()).body["webhooks"]
    assert listed["is_active"] is False and "410" in listed["disabled_reason"]
    # Every delivery of it ended: the one answered 410 and the one waiting behind it, never attempted
    assert [(d["status"], d["attempts"]) for d in deliveries(inbox, webhook["id"])] == [("dead", 0), ("dead", 1)]
    dispatch(queued(inbox, second), kinds=TARGET_KINDS)
    requests_so_far = len(receiver.requests)
    # And new changes owe it nothing
    customer_writes(inbox, "chat_hook_gone")
    sweep_deliveries(kinds=TARGET_KINDS)
    assert len(receiver.requests) == requests_so_far
    redeliver = call(
        "POST",
        f"/v1/webhooks/{webhook['id']}/deliveries/{deliveries(inbox, webhook['id'])[0]['id']}/redeliver",
        claims=inbox.claims(),
    )
    assert redeliver.status == 400


def test_during_a_rotation_both_secrets_sign_for_24_hours(make_connector, admin, receiver):
    inbox = make_inbox(make_connector, admin)
    webhook = subscribe(inbox, receiver.url, ["conversation.created"])
    rotated = call("POST", f"/v1/webhooks/{webhook['id']}/rotate-secret", claims=inbox.claims())
    assert rotated.status == 200 and rotated.body["secret"] != webhook["secret"]
    customer_writes(inbox, "chat_hook_rotation_1")
    sweep_deliveries(kinds=TARGET_KINDS)
    signature = receiver.requests[-1].headers["threadline-signature"]
    assert signature.count("v1=") == 2
    assert verify(rotated.body["secret"], signature, receiver.requests[-1].body)
    assert verify(webhook["secret"], signature, receiver.requests[-1].body)
    # A day later only the new secret signs
    customer_writes(inbox, "chat_hook_rotation_2")
    later = datetime.now(UTC) + timedelta(hours=24, minutes=1)
    sweep_deliveries(now=later, kinds=TARGET_KINDS)
    late = receiver.requests[-1]
    signature = late.headers["threadline-signature"]
    assert signature.count("v1=") == 1
    assert verify(rotated.body["secret"], signature, late.body, now=later.timestamp())
    assert not verify(webhook["secret"], signature, late.body, now=later.timestamp())


def test_a_slow_receiver_never_holds_up_the_change_that_caused_the_event(make_connector, admin, receiver):
    inbox = make_inbox(make_connector, admin)
    subscribe(inbox, receiver.url)
    receiver.script(delayed(30))
    # The ingest answers with nothing sent yet: deliveries are the dispatcher's, after the commit
    customer_writes(inbox, "chat_hook_slow")
    assert receiver.requests == []


# ---------------------------------------------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------------------------------------------


def resolver_of(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.5/hook",
        "https://172.16.3.4/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "http://hooks.example.com/hook",
    ],
)
def test_private_link_local_and_metadata_addresses_are_refused_in_aws(url):
    with pytest.raises(AddressRefused):
        resolve_destination(url, allow_loopback=False, resolver=resolver_of({"hooks.example.com": ["93.184.216.34"]}))


def test_names_resolving_to_private_addresses_are_refused_and_public_ones_pinned():
    table = {
        "internal.example": ["10.1.2.3"],
        "metadata.example": ["169.254.169.254"],
        "mixed.example": ["93.184.216.34", "192.168.0.9"],
        "public.example": ["93.184.216.34"],
    }
    for host in ("internal.example", "metadata.example", "mixed.example"):
        with pytest.raises(AddressRefused, match=host):
            resolve_destination(f"https://{host}/hook", allow_loopback=False, resolver=resolver_of(table))
    # The real resolver: localhost is loopback
    with pytest.raises(AddressRefused):
        resolve_destination("https://localhost/hook", allow_loopback=False)
    destination = resolve_destination("https://public.example/h?x=1", allow_loopback=False, resolver=resolver_of(table))
    assert (destination.address, destination.host, destination.path) == ("93.184.216.34", "public.example", "/h?x=1")


def test_a_private_url_is_refused_at_subscription_even_locally(make_connector, admin):
    inbox = make_inbox(make_connector, admin)
    for url in (
        "https://10.0.0.1/hook",
        "http://169.254.169.254/",
        "ftp://example.com/",
        "https://user:pw@example.com/",
    ):
        answer = call("POST", "/v1/webhooks", claims=inbox.claims(), body={"url": url, "events": ["*"]})
        assert answer.status == 400, (url, answer.body)
        assert answer.body["error"].startswith("url:")


# Hosts the system resolver (inet_aton) reads as IPv4 addresses, each beside its dotted quad.
NUMERIC_HOSTS = [
    ("0xa9fea9fe", "169.254.169.254"),
    ("2852039166", "169.254.169.254"),
    ("0251.0376.0251.0376", "169.254.169.254"),
    ("169.254.43518", "169.254.169.254"),
    ("0", "0.0.0.0"),
    ("167772161", "10.0.0.1"),
    ("0xc0a80101", "192.168.1.1"),
    ("0x7f000001", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0X7F.1", "127.0.0.1"),
    ("\uff11\uff12\uff17.\uff10.\uff10.\uff11", "127.0.0.1"),  # fullwidth digits: IDNA makes them 127.0.0.1
]


def subscription_answer(inbox: Inbox, url: str) -> tuple[int, str | None]:
    answer = call("POST", "/v1/webhooks", claims=inbox.claims(), body={"url": url, "events": ["window.closed"]})
    return answer.status, answer.body.get("error")


def stored_urls(admin, inbox: Inbox) -> list[str]:
    rows = admin.execute("SELECT url FROM webhook_subscriptions WHERE tenant_id = %s", (inbox.tenant_id,))
    return [row[0] for row in rows]


@pytest.mark.parametrize("rule", ["aws", "local"])
@pytest.mark.parametrize("scheme", ["https", "http"])
@pytest.mark.parametrize(("host", "dotted"), NUMERIC_HOSTS)
def test_a_numeric_host_in_any_spelling_is_answered_as_its_dotted_quad_is(
    make_connector, admin, monkeypatch, rule, scheme, host, dotted
):
    """Under the AWS rule (no loopback) and the local one: 0xa9fea9fe is 169.254.169.254, refused at creation with
    the same 400 (it was accepted, and every delivery then failed for 24 hours)."""
    from threadline.delivery.addresses import ALLOW_LOOPBACK_VARIABLE

    if rule == "aws":
        monkeypatch.delenv(ALLOW_LOOPBACK_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(ALLOW_LOOPBACK_VARIABLE, "true")
    inbox = make_inbox(make_connector, admin)
    canonical = subscription_answer(inbox, f"{scheme}://{dotted}/latest/meta-data")
    numeric = subscription_answer(inbox, f"{scheme}://{host}/latest/meta-data")
    assert numeric == canonical, (numeric, canonical)
    loopback_locally = rule == "local" and dotted == "127.0.0.1"
    assert canonical[0] == (201 if loopback_locally else 400), canonical
    if not loopback_locally:
        assert stored_urls(admin, inbox) == []


def test_numeric_hosts_are_checked_as_the_addresses_they_are_at_delivery_too():
    for host, dotted in NUMERIC_HOSTS:
        with pytest.raises(AddressRefused, match=dotted):
            resolve_destination(f"https://{host}/hook", allow_loopback=False, resolver=resolver_of({}))
    destination = resolve_destination("https://0x5db8d822/hook", allow_loopback=False, resolver=resolver_of({}))
    assert (destination.address, destination.host) == ("93.184.216.34", "0x5db8d822")
    for name in ("cafe.bad", "0x1.example", "1.2.3.4.example"):  # hex-looking names are still names
        destination = resolve_destination(
            f"https://{name}/hook", allow_loopback=False, resolver=resolver_of({name: ["93.184.216.34"]})
        )
        assert destination.address == "93.184.216.34"


@pytest.mark.parametrize(
    "url",
    [
        " https://example.com/",
        "https://example.com/ ",
        "https://example.com/\r\nX-Injected: 1",
        "https://example.com/\nhook",
        "https://exa\tmple.com/",
        "\thttps://example.com/",
        "https://example.com/a b",
        "https://example.com/\x7f",
        "https://example.com/\u00a0",
    ],
)
def test_a_url_with_whitespace_or_control_characters_is_refused_and_nothing_stored(make_connector, admin, url):
    """urlsplit drops tab, CR and LF (and leading spaces), so the check saw another string than the one stored."""
    inbox = make_inbox(make_connector, admin)
    assert subscription_answer(inbox, url) == (400, "url: must not contain whitespace or control characters")
    assert stored_urls(admin, inbox) == []


def test_each_attempt_resolves_again_and_connects_to_the_checked_address(make_connector, admin, receiver):
    # Given a webhook on a name (only this test's resolver knows it) that resolved to the receiver at first
    inbox = make_inbox(make_connector, admin)
    port = receiver.base_url.rsplit(":", 1)[1]
    webhook = subscribe(inbox, f"http://hooks.receiver.test:{port}/hooks", ["conversation.created"])
    customer_writes(inbox, "chat_hook_rebind")
    [delivery] = deliveries(inbox, webhook["id"])
    # When the name now resolves to a private address, the attempt is refused before any connection
    dispatch(queued(inbox, delivery), resolver=resolver_of({"hooks.receiver.test": ["10.9.8.7"]}), kinds=TARGET_KINDS)
    refused = deliveries(inbox, webhook["id"])[0]
    assert refused["status"] == "pending" and "10.9.8.7" in refused["last_error"]
    assert receiver.requests == []
    # And when it resolves to the receiver again, the connection goes to that address with the URL's host name
    due = datetime.fromisoformat(refused["next_attempt_at"].replace("Z", "+00:00"))
    dispatch(
        queued(inbox, delivery),
        now=due,
        resolver=resolver_of({"hooks.receiver.test": ["127.0.0.1"]}),
        kinds=TARGET_KINDS,
    )
    assert deliveries(inbox, webhook["id"])[0]["status"] == "delivered"
    assert receiver.requests[0].headers["host"] == f"hooks.receiver.test:{port}"


# ---------------------------------------------------------------------------------------------------------------
# The AWS path: SQS after commit, the dispatcher function
# ---------------------------------------------------------------------------------------------------------------


def test_after_commit_the_delivery_goes_through_sqs_to_the_dispatcher_function(
    make_connector, admin, receiver, monkeypatch
):
    from devtools.lambda_runtime import LocalLambdaContext, load_handler
    from devtools.template import load_template

    with mock_aws():
        import boto3

        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="threadline-deliveries")["QueueUrl"]
        monkeypatch.setenv(QUEUE_URL_VARIABLE, queue_url)
        reset_queue_clients()
        inbox = make_inbox(make_connector, admin)
        webhook = subscribe(inbox, receiver.url, ["message.created"])
        # The ingest hands its delivery to the queue after its commit
        customer_writes(inbox, "chat_hook_sqs")
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
        assert len(received) == 1
        # The dispatcher function, fed the SQS event, delivers it
        function = load_template().functions["DeliveryDispatchFunction"]
        event = {"Records": [{"messageId": m["MessageId"], "body": m["Body"]} for m in received]}
        answer = load_handler(function)(event, LocalLambdaContext(function_name=function.logical_id))
        assert answer == {"batchItemFailures": []}
        assert deliveries(inbox, webhook["id"])[0]["status"] == "delivered"
        assert len(receiver.requests) == 1
    reset_queue_clients()


# ---------------------------------------------------------------------------------------------------------------
# Another tenant
# ---------------------------------------------------------------------------------------------------------------


def test_every_webhook_route_refuses_another_tenants_token(make_connector, admin, receiver):
    mine = make_inbox(make_connector, admin)
    theirs = make_inbox(make_connector, admin)
    webhook = subscribe(mine, receiver.url, ["conversation.created"])
    customer_writes(mine, "chat_hook_private")
    [delivery] = deliveries(mine, webhook["id"])
    base = f"/v1/webhooks/{webhook['id']}"
    for prefix in ("", "/api"):
        attempts: list[Answer] = [
            call("DELETE", prefix + base, claims=theirs.claims()),
            call("POST", f"{prefix}{base}/rotate-secret", claims=theirs.claims()),
            call("GET", f"{prefix}{base}/deliveries", claims=theirs.claims()),
            call("POST", f"{prefix}{base}/deliveries/{delivery['id']}/redeliver", claims=theirs.claims()),
        ]
        for answer in attempts:
            assert (answer.status, answer.body) == (404, {"error": "Webhook not found"})
        assert call("GET", f"{prefix}/v1/webhooks", claims=theirs.claims()).body == {"webhooks": []}
        assert read_events(theirs.claims(), prefix=f"{prefix}/v1").body["events"] == []
    # Mine is untouched
    assert call("GET", "/v1/webhooks", claims=mine.claims()).body["webhooks"][0]["id"] == webhook["id"]
    assert deliveries(mine, webhook["id"])[0]["attempts"] == 0
    # And a delivery of one of my webhooks is not reachable through another of mine
    other = subscribe(mine, receiver.url, ["window.closed"])
    answer = call("POST", f"/v1/webhooks/{other['id']}/deliveries/{delivery['id']}/redeliver", claims=mine.claims())
    assert (answer.status, answer.body) == (404, {"error": "Delivery not found"})


def test_the_webhook_routes_need_a_token_and_well_formed_input(make_connector, admin):
    from tests.support.routes import call_route

    assert call_route("POST", "/v1/webhooks", body={"url": "https://x.example", "events": ["*"]})[0] == 401
    inbox = make_inbox(make_connector, admin)
    bad = [
        ({"url": "https://hooks.example.com", "events": []}, "events"),
        ({"url": "https://hooks.example.com", "events": ["message.exploded"]}, "events"),
        ({"url": "https://hooks.example.com", "events": ["*"], "secret": "mine"}, "secret"),
        ({"events": ["*"]}, "url"),
    ]
    for body, field in bad:
        answer = call("POST", "/v1/webhooks", claims=inbox.claims(), body=body)
        assert answer.status == 400 and field in answer.body["error"], (body, answer.body)
    assert call("DELETE", "/v1/webhooks/not-a-uuid", claims=inbox.claims()).status == 400
