"""Logger, Tracer and Metrics, created once per container and wired the same way in every function.

Service name, log level and metrics namespace come from the POWERTOOLS_* variables set in template.yaml Globals.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
