"""The delivery signature, as receivers verify it (docs/webhooks.md):

    Threadline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=<...>]

One `v1` per secret that currently signs: two during a rotation's 24 hours (the new secret first), so a receiver
holding either verifies. A receiver should refuse a `t` far from its own clock (5 minutes) against replays.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import timedelta

SIGNATURE_HEADER = "Threadline-Signature"
EVENT_HEADER = "Threadline-Event"
DELIVERY_HEADER = "Threadline-Delivery"
# After a rotation the previous secret keeps signing beside the new one this long (webhooks and connector callbacks).
ROTATION_OVERLAP = timedelta(hours=24)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={signature(secret, timestamp, body)}" for secret in secrets)])
