"""Windowed counters (store.counters): a conditional ADD that never counts past its limit."""

from __future__ import annotations

import pytest

from dmarcwatch.store import counters


def add(amount: int = 1, limit: int | None = 5) -> counters.Counted | None:
    return counters.increment("subject", "MIN#1", expires_at_epoch=2_000_000_000, limit=limit, amount=amount)


@pytest.mark.usefixtures("aws")
def test_one_at_a_time_up_to_the_limit() -> None:
    assert [add() for _ in range(6)] == [counters.Counted(1, hits) for hits in range(1, 6)] + [None]
    assert counters.read("subject", "MIN#1") == 5


@pytest.mark.usefixtures("aws")
def test_an_amount_is_granted_whole_or_as_much_as_is_left() -> None:
    assert add(3) == counters.Counted(3, 3)
    assert add(3) == counters.Counted(2, 5)
    assert add(3) is None
    assert counters.read("subject", "MIN#1") == 5


@pytest.mark.usefixtures("aws")
def test_an_amount_over_the_limit_grants_the_limit() -> None:
    assert add(50) == counters.Counted(5, 5)


@pytest.mark.usefixtures("aws")
def test_without_a_limit_everything_is_counted() -> None:
    assert add(7, limit=None) == counters.Counted(7, 7)
    assert add(1, limit=None) == counters.Counted(1, 8)


@pytest.mark.usefixtures("aws")
def test_a_zero_limit_counts_nothing() -> None:
    assert add(limit=0) is None
    assert counters.read("subject", "MIN#1") == 0


def test_the_amount_is_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        counters.increment("subject", "MIN#1", expires_at_epoch=0, limit=None, amount=0)
