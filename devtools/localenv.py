"""The environment the functions get locally: the template's variables plus what only exists here."""

from __future__ import annotations

import os

from devtools.postgres import LOCAL_APP_ROLE_PASSWORD, ensure_database
from devtools.template import load_template


def local_overrides(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DB_PASSWORD": LOCAL_APP_ROLE_PASSWORD,
        # No X-Ray daemon locally; metrics still print their EMF lines as in CloudWatch.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }


def export_function_environment() -> None:
    """Every function's template environment (Powertools settings, tenant claim, ...), for in-process handlers.
    Powertools reads these when a handler module is imported, so this must run before any import of one."""
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    for function in load_template().functions.values():
        for name, value in function.environment.items():
            os.environ.setdefault(name, value)


def prepare_local_environment(database_url: str | None = None) -> str:
    """Export the template environment and the local overrides; return the database URL."""
    database_url = database_url or ensure_database()
    os.environ.update(local_overrides(database_url))
    export_function_environment()
    return database_url
