"""Runs inside a `python3.13 -S` process that sees only a built function's directory and the built layer
(tests/deploy/test_built_artifact.py): loads the handler from its file as Lambda's init does, invokes it with one
event, and prints what it returned, or the exception it raised, as one JSON line. Standard library only."""

import importlib.util
import json
import os
import sys

probe = json.loads(os.environ.pop("ARTIFACT_PROBE"))


class Context:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "artifact")
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
    aws_request_id = "00000000-0000-4000-8000-00000000a57f"
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "2026/01/01/[$LATEST]artifact"

    def get_remaining_time_in_millis(self):
        return 29000


spec = importlib.util.spec_from_file_location("handler_module", probe["module_file"])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with open(probe["event_file"], encoding="utf-8") as event_file:
    event = json.load(event_file)
loaded_from = sorted({os.path.dirname(m.__file__ or "") for m in sys.modules.values() if getattr(m, "__file__", None)})
try:
    result = {"returned": getattr(module, probe["handler"])(event, Context())}
except Exception as error:  # the answer under test: the test says which functions may raise
    result = {"raised": f"{type(error).__name__}: {error}"}
result["loaded_from"] = loaded_from
sys.__stdout__.write("ARTIFACT-RESULT " + json.dumps(result, default=str) + "\n")
