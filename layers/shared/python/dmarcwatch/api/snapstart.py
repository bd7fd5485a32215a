"""Lambda SnapStart's runtime hooks, through `snapshot_restore_py` (part of Lambda's Python runtime).

Elsewhere the library is absent: the hooks are then kept in lists that nothing runs, except
bench/cold_start.py, which runs them in the runtime's order to model a snapshot and a restore.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]

try:
    _runtime: Any = importlib.import_module("snapshot_restore_py")
except ImportError:
    _runtime = None

_before_snapshot: list[Hook] = []
_after_restore: list[Hook] = []


def register_before_snapshot(func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    if _runtime is not None:
        _runtime.register_before_snapshot(func, *args, **kwargs)
    else:
        _before_snapshot.append((func, args, kwargs))


def register_after_restore(func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    if _runtime is not None:
        _runtime.register_after_restore(func, *args, **kwargs)
    else:
        _after_restore.append((func, args, kwargs))


def run_before_snapshot() -> None:
    """What the runtime does before the snapshot: the hooks in reverse order of registration."""
    hooks = _runtime.get_before_snapshot() if _runtime is not None else _before_snapshot
    for func, args, kwargs in reversed(list(hooks)):
        func(*args, **kwargs)


def run_after_restore() -> None:
    """What the runtime does in a restored environment: the hooks in order of registration."""
    hooks = _runtime.get_after_restore() if _runtime is not None else _after_restore
    for func, args, kwargs in list(hooks):
        func(*args, **kwargs)
