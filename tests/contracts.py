"""What the tests hold every WebSocket frame to: its model.

A frame is checked as it arrived (decoded JSON): it validates against the union of frame models
(threadline.models.frames.ServerFrame: extra fields forbidden), and dumping the model gives back the very same JSON,
key order included, so the model says exactly what the wire carries.

The fixtures that capture frames (tests/integration/test_realtime_publisher.py's management APIs, the WebSocket
route tests, the end-to-end WebSocket client) call this on everything they see.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import TypeAdapter

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
