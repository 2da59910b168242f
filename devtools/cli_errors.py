"""How the `threadline` CLI refuses: every error, a usage error included, is one JSON object on stderr,
`{"error": "..."}`, and exit status 2 (argparse's own for usage errors), never a traceback. Database refusals are
said in the CLI's terms ("A connection with phone_number_id 1099 already exists", "No tenant ...")."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import NoReturn
from uuid import UUID

ERROR_EXIT_STATUS = 2  # what argparse exits with on a usage error: one status for every refusal


class CliError(Exception):
    """A mistake on the command line that only the CLI can see (a function that does not exist, ...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class JsonArgumentParser(argparse.ArgumentParser):
    """argparse, answering a usage error like every other error: one JSON object on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        _fail(f"{self.prog}: {message}")


def uuid_argument(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an id (a UUID): {value!r}") from None


def write_error(message: str) -> int:
    """Say what went wrong the one way the CLI does; the exit status to leave with."""
    print(json.dumps({"error": message}), file=sys.stderr)
    return ERROR_EXIT_STATUS


def _fail(message: str) -> NoReturn:
    sys.exit(write_error(message))


_DUPLICATE_KEY = re.compile(r"Key \((?P<columns>.+)\)=\((?P<values>.*)\) already exists")
_MISSING_REFERENCE = re.compile(r'Key \((?P<columns>.+)\)=\((?P<values>.*)\) is not present in table "(?P<table>\w+)"')


def _singular(table: str | None) -> str:
    return (table or "row").removesuffix("s")


def error_message(error: Exception) -> str:
    """What went wrong, in a sentence: the domain's own message, or a database refusal said in its terms."""
    import psycopg

    from threadline.db.errors import StorageError
    from threadline.errors import ThreadlineError

    if isinstance(error, CliError | ThreadlineError):
        return error.message
    if isinstance(error, StorageError) and isinstance(error.__cause__, psycopg.Error):
        # The layer's translation of a driver error: the driver's diagnostics say it in the CLI's terms.
        return error_message(error.__cause__)
    if isinstance(error, psycopg.errors.UniqueViolation):
        detail = error.diag.message_detail or ""
        if found := _DUPLICATE_KEY.search(detail):
            return f"A {_singular(error.diag.table_name)} with {found['columns']} {found['values']} already exists"
        return f"Already exists: {detail or error.diag.message_primary}"
    if isinstance(error, psycopg.errors.ForeignKeyViolation):
        detail = error.diag.message_detail or ""
        if found := _MISSING_REFERENCE.search(detail):
            return f"No {_singular(found['table'])} {found['values']}"
        return f"Refers to something missing: {detail or error.diag.message_primary}"
    if isinstance(error, psycopg.Error):
        return f"The database refused: {error.diag.message_primary or error}"
    if isinstance(error, OSError):
        return f"{error.strerror or error}: {error.filename}" if error.filename else str(error)
    return f"{type(error).__name__}: {error}"
