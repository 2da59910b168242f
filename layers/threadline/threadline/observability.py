"""Logger, Tracer and Metrics, created once per container and wired the same way in every function.

Service name, log level and metrics namespace come from the POWERTOOLS_* variables set in template.yaml Globals.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider


class _MetricsWrittenWhenAdded(AmazonCloudWatchEMFProvider):
    """Powertools' CloudWatch EMF provider, silent when an invocation added no application metric.

    Most invocations add none (every read, every refused request), and Powertools warns "No application metrics to
    publish" for each of them: a UserWarning per request in CloudWatch Logs, and hundreds in the test run, drowning
    real warnings. There is nothing to write then (the cold-start metric goes out on its own), so nothing is said.
    `raise_on_empty_metrics=True` keeps Powertools' own check for a handler that wants it.
    """

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        if self.metric_set or raise_on_empty_metrics:
            super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)


logger = Logger()
# No auto-patching: patching every library X-Ray knows imports botocore, requests and more at cold start
# (about 200 ms measured by `make bench-coldstart`), mostly for libraries a function never calls. A function
# that makes outbound calls patches exactly those (`tracer.patch(["requests"])`).
tracer = Tracer(auto_patch=False)
metrics = Metrics(provider=_MetricsWrittenWhenAdded())
