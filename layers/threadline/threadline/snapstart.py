"""Lambda SnapStart: what must be forgotten when a container is restored from a snapshot.

With SnapStart (template parameter `EnableSnapStart`), Lambda runs a version's init once, snapshots the memory and
restores every new container from it, possibly hours later and many times over. Anything time-bound that lived in
memory at snapshot time would be restored stale or shared: an open database connection (the server closed it long
ago, and two containers must never share one socket), a client holding the role's credentials from snapshot time,
the Meta secret or the database password as they were then. Init creates none of these today (they are opened on
first use), so the hooks are what keeps it safe when something is warmed before the snapshot. IAM tokens and credentials are not cached at all:
each connect mints a token from the environment, which Lambda refills on restore.

The runtime's hook registry (`snapshot_restore_py`) exists only inside Lambda's Python runtime; elsewhere the hooks
are kept here, and `run_after_restore_hooks()` runs them as the runtime would (tests, local experiments).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

_AFTER_RESTORE: list[Callable[[], None]] = []

try:
    from snapshot_restore_py import register_after_restore as _register_with_runtime  # type: ignore[import-not-found]
except ImportError:  # not inside Lambda's runtime: the local registry is the only one
    _register_with_runtime = None


def after_restore(hook: Callable[[], None]) -> Callable[[], None]:
    """Run `hook` whenever this container is restored from a snapshot."""
    _AFTER_RESTORE.append(hook)
    if _register_with_runtime is not None:
        _register_with_runtime(hook)
    return hook


def run_after_restore_hooks() -> None:
    for hook in _AFTER_RESTORE:
        hook()


@after_restore
def forget_what_the_snapshot_holds() -> None:
    """Drop the database connection and every client or cache holding credentials or secrets from before the
    snapshot. Modules that were never imported hold nothing: they are looked up, never imported here (which also
    keeps this module at the bottom of the layer: it imports none of the modules it resets)."""
    for module_name, reset in (
        ("threadline.db.connection", "discard_app_connection"),
        ("threadline.aws.secrets", "clear_secret_cache"),  # the Meta secret's cache lives there
        ("threadline.meta.client", "reset_meta_client"),
        ("threadline.realtime.publisher", "reset_management_client"),
        ("threadline.bedrock.client", "reset_llm_client"),
    ):
        if module_name in sys.modules:
            getattr(sys.modules[module_name], reset)()
