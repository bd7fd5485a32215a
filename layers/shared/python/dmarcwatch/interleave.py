"""Fair order for queues several tenants share: one item of each group in turn."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

T = TypeVar("T")


def interleave(items: Iterable[T], group: Callable[[T], Hashable]) -> list[T]:
    """The items reordered to take one of each group in turn (each group's own order kept, groups in the
    order they first appear), so one group with thousands of items does not hold the others back."""
    by_group: dict[Hashable, deque[T]] = {}
    for item in items:
        by_group.setdefault(group(item), deque()).append(item)
    turns = list(by_group.values())
    ordered: list[T] = []
    while turns:
        ordered.extend(turn.popleft() for turn in turns)
        turns = [turn for turn in turns if turn]
    return ordered
