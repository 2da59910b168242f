"""Scheduled window expiry: every few minutes (EventBridge), mark the contacts whose 24-hour window has closed,
then compact the inbox counts' ledger.

No HTTP: the event is EventBridge's scheduled event and carries nothing the job needs. The run stops short of the
Lambda timeout when a backlog is too large for one invocation; the next scheduled run continues it.
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.inbox_counts import compact_inbox_counts
from threadline.domain.window_expiry import expire_closed_windows
from threadline.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    outcome = expire_closed_windows(remaining_time_ms=context.get_remaining_time_in_millis).as_dict()
    return outcome | {"inbox_counts": compact_inbox_counts().as_dict()}
