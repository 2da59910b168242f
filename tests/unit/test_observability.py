"""The shared Metrics: an invocation that added no application metric writes nothing and warns nothing (most
requests add none); one that added a metric writes it as CloudWatch EMF, once."""

from __future__ import annotations

import json
import warnings

from aws_lambda_powertools.metrics import MetricUnit

from threadline.observability import metrics


@metrics.log_metrics
def _handler_adding(event: dict, context: object) -> str:
    for name in event.get("metrics", []):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    return "done"


def test_an_invocation_without_application_metrics_writes_and_warns_nothing(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Powertools' "No application metrics to publish" would raise here

        assert _handler_adding({}, None) == "done"

    assert capsys.readouterr().out == ""


def test_an_invocation_that_added_a_metric_writes_it_once_as_emf(capsys):
    assert _handler_adding({"metrics": ["MessagesIngested"]}, None) == "done"
    assert _handler_adding({}, None) == "done"  # flushed: the next invocation starts empty

    (line,) = capsys.readouterr().out.splitlines()
    blob = json.loads(line)
    assert blob["MessagesIngested"] == [1.0]
    assert [m["Name"] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == ["MessagesIngested"]
