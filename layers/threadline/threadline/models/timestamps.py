"""How Threadline writes a moment in the contracts that fix a format: the session API and every WebSocket frame
write timestamps as JavaScript's Date does (UTC, milliseconds, `Z`: 2025-12-18T10:45:27.626Z)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer


def js_timestamp(value: datetime) -> str:
    """As JavaScript's Date serialises: UTC, milliseconds, `Z` (e.g. 2025-12-18T10:45:27.626Z)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


JsTimestamp = Annotated[datetime, PlainSerializer(js_timestamp, return_type=str)]
