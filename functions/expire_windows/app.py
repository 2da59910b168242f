"""The scheduled run: every few minutes (EventBridge), the inbox's timed duties (threadline.domain.scheduled): mark
the contacts whose 24-hour window has closed, end as failed the sends Meta never confirmed, wake the snoozes that
are due and hand out the unassigned queue, then compact the inbox counts' ledger.

No HTTP: the event is EventBridge's scheduled event and carries nothing the job needs. The run stops short of the
Lambda timeout when a backlog is too large for one invocation; the next scheduled run continues it.
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.domain.scheduled import run_scheduled_work
from threadline.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return run_scheduled_work(remaining_time_ms=context.get_remaining_time_in_millis)
