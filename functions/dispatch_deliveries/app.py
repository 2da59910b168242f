"""The delivery dispatcher: fed by the delivery queue (SQS), one attempt per message (threadline.delivery.dispatcher).

Retries are the domain's (a failed attempt is rescheduled in the database and re-queued with a delay, or left to the
scheduled sweep): a message is reported failed (SQS redrives it, then the dead-letter queue keeps it) only when its
attempt could not even be recorded, e.g. the database was unreachable.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.delivery.dispatcher import dispatch, queued_from_records
from threadline.domain.events.targets import TARGET_KINDS
from threadline.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    messages = queued_from_records(event.get("Records") or [])
    outcome = dispatch([queued for _, queued in messages], kinds=TARGET_KINDS)
    failed = {id(queued) for queued in outcome.failed}
    return {
        "batchItemFailures": [{"itemIdentifier": message_id} for message_id, queued in messages if id(queued) in failed]
    }
