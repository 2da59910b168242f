"""What every benchmark shares: a throwaway database on the development server, and printing of figures.

A benchmark runs against its own `bench_<random>` database, migrated exactly as in AWS and dropped afterwards,
so it never disturbs `make dev` data or a test session running at the same time on the same server.
"""

from __future__ import annotations

import math
import os
import platform
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg

from devtools.localenv import prepare_local_environment
from devtools.postgres import LOCAL_APP_ROLE_PASSWORD, create_database, drop_database, server_url


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh, migrated database; yields its owner URL. The process environment is set up as the functions'
    (template variables + local overrides), so handlers loaded afterwards connect to it as threadline_app."""
    from threadline.db.connection import discard_app_connection
    from threadline.db.migrations import apply_migrations

    server = server_url()
    name = f"bench_{uuid.uuid4().hex[:10]}"
    url = create_database(server, name)
    try:
        with psycopg.connect(url) as conn:
            apply_migrations(conn, app_role_password=LOCAL_APP_ROLE_PASSWORD)
        prepare_local_environment(url)
        yield url
    finally:
        discard_app_connection()
        drop_database(server, name)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), so p50 is the median."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def print_header(title: str) -> None:
    print(f"\n== {title} ==")
    print(f"   python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Left-aligned first column, right-aligned figures; floats with thousands separators and one decimal."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(header)), *(len(row[i]) for row in cells)) for i, header in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        first, *rest = values
        return "  ".join([first.ljust(widths[0]), *(value.rjust(widths[i + 1]) for i, value in enumerate(rest))])

    print(line([str(header) for header in headers]))
    print(line(["-" * width for width in widths]))
    for row in cells:
        print(line(row))


def print_ratio(label: str, value: float, *, target: str, met: bool) -> None:
    print(f"{label}: {value:.2f}  (target {target}: {'met' if met else 'MISSED'})")


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
