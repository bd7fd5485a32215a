"""Plausibility caps a report must pass before anything of it is stored (review C1).

A report's date range decides how many day and source items its statistics touch, and its sender chose
it. Reporters send one day (RFC 7489 §7.2 suggests 24 hours); some send a week or a month. A range longer
than `MAX_RANGE_DAYS`, beginning before 2000 or ending more than a day in the future is not a report we
can count: it is quarantined with its own reason, before any write. The number of source items a report
touches is capped as well, so the work one mail can cause is bounded whatever its content.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MAX_RANGE_DAYS = 31
EARLIEST_BEGIN = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_MARGIN = timedelta(days=1)
# 100,000 sources over two days is the largest real report we plan for.
MAX_AGGREGATE_ITEMS = 250_000


class Implausible(Exception):
    """A report that parses but cannot be counted; `code` is its quarantine reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Reason:
    RANGE_TOO_LONG = "date_range_too_long"
    RANGE_TOO_OLD = "date_range_too_old"
    RANGE_IN_FUTURE = "date_range_in_future"
    TOO_MANY_AGGREGATES = "too_many_aggregates"


def check_date_range(begin: datetime, end: datetime, now: datetime) -> None:
    begin, end = begin.astimezone(UTC), end.astimezone(UTC)
    if begin < EARLIEST_BEGIN:
        raise Implausible(Reason.RANGE_TOO_OLD, f"the report begins {begin:%Y-%m-%d}, before 2000")
    if end > now + FUTURE_MARGIN:
        raise Implausible(
            Reason.RANGE_IN_FUTURE, f"the report ends {end:%Y-%m-%d %H:%M}Z, more than a day in the future"
        )
    if end - begin > timedelta(days=MAX_RANGE_DAYS):
        raise Implausible(
            Reason.RANGE_TOO_LONG,
            f"the report covers {(end - begin).days} days ({begin:%Y-%m-%d} to {end:%Y-%m-%d}); "
            f"at most {MAX_RANGE_DAYS} are accepted",
        )


def check_aggregate_items(count: int) -> None:
    if count > MAX_AGGREGATE_ITEMS:
        raise Implausible(
            Reason.TOO_MANY_AGGREGATES,
            f"the report would update {count} day and source items (cap {MAX_AGGREGATE_ITEMS})",
        )
