"""Query-string parameters into pydantic models, with a 400 in the route's own words for any malformed value.

API Gateway hands every query value over as a string (repeated names joined by commas), so the models validate
in pydantic's lax mode: "20" is the integer 20, "abc" or "1,2" is refused. Each route names the sentence a client
reads for each parameter, and the error class that carries it to the route's envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from threadline.errors import ThreadlineError
from threadline.models.validation import describe_validation_error

MAX_PAGE_SIZE = 100
MAX_CURSOR_CHARS = 512


UTC_RANGE_MESSAGE = "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z"


def _as_utc(value: datetime) -> datetime:
    # Whatever the session time zone, answers carry UTC ("...Z").
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        # A time at the calendar's edge whose offset takes it past year 9999 or before year 1 in UTC
        # (9999-12-31T23:59:59-14:00): pydantic passes an OverflowError through (a 500), a ValueError is a 400.
        raise ValueError(UTC_RANGE_MESSAGE) from None


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class QueryModel(BaseModel):
    """Unknown parameters are ignored, as HTTP APIs usually do; known ones must be well-formed."""

    model_config = ConfigDict(extra="ignore", frozen=True)


Q = TypeVar("Q", bound=QueryModel)


def parse_query(
    model: type[Q],
    parameters: Mapping[str, str] | None,
    *,
    explanations: Mapping[str, str],
    refuse: Callable[[str], ThreadlineError],
) -> Q:
    try:
        return model.model_validate(dict(parameters or {}))
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]
        parameter = str(problem["loc"][0]) if problem["loc"] else ""
        raise refuse(explanations.get(parameter) or describe_validation_error(error)) from None
