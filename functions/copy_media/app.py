"""The media copy step: fed by the media copy queue (SQS), one attempt per job (threadline.domain.media.worker).

Retries are the domain's (a failed attempt is rescheduled in the database and re-queued with its backoff, up to
SQS's 15-minute delay; the scheduled sweep hands over later ones): a job is reported failed (SQS redrives it, then
the dead-letter queue keeps it) only when its attempt could not run or be recorded, e.g. the database was
unreachable. No HTTP, so the file's download and upload never hold a request open.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.delivery.media_queue import MediaCopyJob
from threadline.domain.media.worker import run_copy_jobs
from threadline.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    jobs = [(record["messageId"], MediaCopyJob.from_json(record["body"])) for record in event.get("Records") or []]
    outcome = run_copy_jobs([job for _, job in jobs])
    failed = {id(job) for job in outcome.failed}
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id, job in jobs if id(job) in failed]}
