"""What the tests hold every WebSocket frame and every event of the log to: its model.

A frame is checked as it arrived (decoded JSON): it validates against the union of frame models
(threadline.models.frames.ServerFrame: extra fields forbidden), and dumping the model gives back the very same JSON,
key order included, so the model says exactly what the wire carries. An event's `data` validates against its type's
model (threadline.models.event_data.EVENT_DATA_MODELS: nothing missing, nothing extra); a type without a model fails.

The fixtures that capture frames (tests/integration/test_realtime_publisher.py's management APIs, the WebSocket
route tests, the end-to-end WebSocket client) and the event log's reader (tests/support/event_log.py) call
these on everything they see.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter

from threadline.models.event_data import EVENT_DATA_MODELS
from threadline.models.frames import Frame, ServerFrame


@cache
def _frames() -> TypeAdapter[Any]:
    return TypeAdapter(ServerFrame)


def checked_frame(frame: dict[str, Any]) -> Frame:
    """The frame's model; fails when the frame is not exactly what its model says."""
    model: Frame = _frames().validate_python(frame)
    dumped = model.model_dump(mode="json")
    assert json.dumps(dumped) == json.dumps(frame), f"{type(model).__name__} does not say what the wire said:\n{frame}"
    return model


def checked_frames(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for frame in frames:
        checked_frame(frame)
    return frames


def checked_event(event: dict[str, Any]) -> BaseModel:
    """The model of an event's `data` (read from GET /v1/events); fails when it does not validate."""
    model = EVENT_DATA_MODELS.get(event["type"])
    assert model is not None, f"event type {event['type']!r} has no data model in threadline.models.event_data"
    return model.model_validate(event["data"])
