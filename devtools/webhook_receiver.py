"""A webhook receiver on 127.0.0.1: the tests' independent receiver (scripted answers, every request recorded) and a
tiny one to run by hand under `make dev`, printing each delivery and whether its signature verifies:

    .venv/bin/python -m devtools.webhook_receiver --port 8765 --secret whsec_...
    .venv/bin/python -m devtools.webhook_receiver --port 8766 --secret whsec_... --connector   # a connection's

Verification is written here as docs/webhooks.md tells a receiver to write it, knowing nothing of Threadline's code.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import time
from dataclasses import dataclass, replace

from devtools.fake_server import Answer, RecordedRequest, ScriptedHttpFake


def verify(
    secret: str, signature_header: str, raw_body: bytes, *, now: float | None = None, tolerance: int = 300
) -> bool:
    """docs/webhooks.md's verification: any v1 equal to HMAC-SHA256(secret, "<t>.<raw body>"), t within tolerance."""
    parts = [item.split("=", 1) for item in signature_header.split(",") if "=" in item]
    timestamps = [value for key, value in parts if key == "t"]
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamps[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamps[0]}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value) for key, value in parts if key == "v1")


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    delay_seconds: float = 0.0


def delayed(seconds: float, then: Reply | None = None) -> Reply:
    return replace(then or Reply(), delay_seconds=seconds)


class WebhookReceiver(ScriptedHttpFake[RecordedRequest, Reply]):
    """Answers 200 unless scripted (`script(Reply(500), delayed(2), Reply(410), ...)`)."""

    request_type = RecordedRequest
    name = "the webhook receiver"
    thread_name = "webhook-receiver"
    methods = ("POST",)

    # A connector's answer to a message.outbound delivery: {"external_id": "local-<n>"}, as if a platform took it.
    answer_external_ids = False

    def _answer(self, request: RecordedRequest) -> Answer | None:
        reply = self._receive(request, scripted=True) or self._default_reply()
        if self._stopped_during(reply.delay_seconds):
            return None
        if self._announce is not None:
            self._announce(_describe(request))
        return reply.status, {"Content-Type": "application/json"}, reply.body

    def _default_reply(self) -> Reply:
        if not self.answer_external_ids:
            return Reply()
        return Reply(body=json.dumps({"external_id": f"local-{len(self.requests)}"}).encode())

    @property
    def url(self) -> str:
        return f"{self.base_url}/hooks"


_secret_for_printing: str | None = None


def _describe(request: RecordedRequest) -> str:
    signature = request.headers.get("threadline-signature", "")
    verified = (
        "no secret given" if _secret_for_printing is None else verify(_secret_for_printing, signature, request.body)
    )
    event = request.headers.get("threadline-event")
    delivery = request.headers.get("threadline-delivery")
    return f"{event} delivery={delivery} signature verified: {verified}\n{json.dumps(request.json, indent=2)}"


def main(argv: list[str] | None = None) -> None:
    global _secret_for_printing
    parser = argparse.ArgumentParser(description="A local webhook receiver that prints verified deliveries")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret", help="the webhook's signing secret (whsec_...), to verify signatures")
    parser.add_argument(
        "--connector",
        action="store_true",
        help='answer as a connector would: {"external_id": "local-<n>"} (a connection\'s outbound_url)',
    )
    options = parser.parse_args(argv)
    _secret_for_printing = options.secret
    with WebhookReceiver(port=options.port, announce=lambda line: print(line, flush=True)) as receiver:
        receiver.answer_external_ids = options.connector
        print(f"receiving webhooks at {receiver.url} (Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            sys.exit(0)


if __name__ == "__main__":
    main()
