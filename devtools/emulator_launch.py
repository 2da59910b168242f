"""MiniStack's entry point as devtools/emulator.py starts it (run by the emulator's own interpreter, so it imports
nothing of Threadline), with the one correction the rehearsal makes to what the emulator sends (EMULATOR_GAPS in
devtools/rehearsal.py): AWS begins an HTTP API event's rawPath and requestContext.http.path with a named stage
("/dev/v1/ingest"; Powertools' resolver strips it), MiniStack leaves the stage out, and every route would miss."""

import functools

from ministack.services import apigateway

_invoke_lambda_proxy = apigateway._invoke_lambda_proxy


@functools.wraps(_invoke_lambda_proxy)
async def _with_the_stage_in_the_path(integration, api_id, stage, path, *args, **kwargs):  # type: ignore[no-untyped-def]
    if stage and stage != "$default":
        path = f"/{stage}{path}"
    return await _invoke_lambda_proxy(integration, api_id, stage, path, *args, **kwargs)


apigateway._invoke_lambda_proxy = _with_the_stage_in_the_path

from ministack.app import main  # noqa: E402 - after the correction

main()
