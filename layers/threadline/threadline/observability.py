"""Logger, Tracer and Metrics, created once per container and wired the same way in every function.

Service name, log level and metrics namespace come from the POWERTOOLS_* variables set in template.yaml Globals.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
# No auto-patching: patching every library X-Ray knows imports botocore, requests and more at cold start
# (about 200 ms measured by `make bench-coldstart`), mostly for libraries a function never calls. A function
# that makes outbound calls patches exactly those (`tracer.patch(["requests"])`).
tracer = Tracer(auto_patch=False)
metrics = Metrics()
