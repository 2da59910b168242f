"""`POST /v1/ingest/statuses`: statuses a connector reports for agents' replies it delivered (docs/connector-callbacks.md).

A status names its message by Threadline's id (`message_id`, as the message.outbound delivery carried it) or by the
platform's (`external_id`, as the connector's answer or sync named it), optionally narrowed by
`external_conversation_id` for platforms whose message ids are per chat. Given both, the platform's id is recorded on
the message (when it has none yet) and the status applied by Threadline's id.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from threadline.models.ingest import MAX_BODY_BYTES, Identifier, Timestamp
from threadline.models.validation import NulFreeText, parse_json_body
from threadline.vocabulary import Platform

MISSING_FIELDS_MESSAGE = "Missing required fields: platform, connection_id, statuses"
MAX_STATUSES = 1_000
ReportedStatusValue = Literal["sent", "delivered", "read", "failed"]
# A status's result: updated (the message moved forward), unchanged (it was already there or further), not_found
# (no outbound message of this connection has that id), or "error: <why>".
StatusResultValue = str


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)


class ReportedError(_Strict):
    # Stored in messages.error_code, an integer: a wider code was a 500 that rolled the whole batch back.
    code: Annotated[int, Field(ge=-(2**31), le=2**31 - 1)] | None = None
    title: Annotated[NulFreeText, Field(max_length=512)] | None = None


class ReportedStatus(_Strict):
    message_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None
    external_id: Identifier | None = None
    external_conversation_id: Identifier | None = None
    status: ReportedStatusValue
    error: ReportedError | None = None
    occurred_at: Timestamp

    @model_validator(mode="after")
    def _names_its_message(self) -> ReportedStatus:
        if self.message_id is None and self.external_id is None:
            raise ValueError("message_id or external_id is required")
        if self.error is not None and self.status != "failed":
            raise ValueError("error is only for failed statuses")
        return self


class StatusReportRequest(_Strict):
    platform: Platform
    connection_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    statuses: Annotated[list[ReportedStatus], Field(min_length=1, max_length=MAX_STATUSES)]


class StatusResult(BaseModel):
    message_id: int | None
    external_id: str | None
    status: StatusResultValue
    # The message's status now (null when no message was found).
    message_status: str | None


class StatusReportResponse(BaseModel):
    success: bool = True
    processed: int
    results: list[StatusResult]


def parse_status_report(body: str | bytes | None) -> StatusReportRequest:
    return parse_json_body(
        StatusReportRequest,
        body,
        max_bytes=MAX_BODY_BYTES,
        empty_message=MISSING_FIELDS_MESSAGE,
        too_large_message=f"Request body too large: at most {MAX_BODY_BYTES} bytes; split the batch",
        missing_fields_message=MISSING_FIELDS_MESSAGE,
    )
