"""The database layer's own errors: what the domain may catch instead of the driver's exceptions.

Repositories (and run_in_transaction, for what escapes a unit of work) translate psycopg's errors into these, so a
rule such as "this platform id already names another message" is written beside the unique index that enforces it,
and no module above the database layer imports psycopg's exception classes.
- StorageUnavailable: the database could not be reached or dropped the transaction (after run_in_transaction's
  retries); nothing was committed.
- RowsRefused: the database refused the data (a constraint or a value out of range); nothing was written. `reason`
  is the database's one-line explanation, safe to show (it names no secret, only the constraint or value).
- ExternalIdTaken / NameTaken: the unique keys the domain has a rule for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


class StorageError(Exception):
    """The database failed the statement or the transaction."""


class StorageUnavailable(StorageError):
    """Unreachable, or the transaction was dropped: nothing was committed."""


class RowsRefused(StorageError):
    """The database refused the data (an integrity rule or a value out of range): nothing was written."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ExternalIdTaken(RowsRefused):
    """The external (platform) id already names another message of the conversation."""


class NameTaken(RowsRefused):
    """The name is already used by another row of the tenant (a unique name)."""


def translate(error: psycopg.Error) -> StorageError:
    if isinstance(error, psycopg.OperationalError):
        return StorageUnavailable(str(error).strip() or type(error).__name__)
    if isinstance(error, psycopg.IntegrityError | psycopg.DataError):
        return RowsRefused(error.diag.message_primary or type(error).__name__)
    return StorageError(type(error).__name__)


@contextmanager
def translated_errors(unique_violation: type[RowsRefused] = RowsRefused) -> Iterator[None]:
    """Run a repository's statements with the driver's errors raised as this module's; a unique violation as
    `unique_violation` (the repository knows which key it can break)."""
    try:
        yield
    except psycopg.errors.UniqueViolation as error:
        raise unique_violation(error.diag.message_primary or "duplicate key") from error
    except psycopg.Error as error:
        raise translate(error) from error
