"""Turning a report's records into per-day and per-day-per-source counter deltas.

A report covers a time range that may span several UTC days. Its messages are spread over those days in
proportion to the overlap (pro rata), record by record with a largest-remainder split, so every day's
figures are whole numbers, they add up exactly to the report's totals, and pass + fail = messages holds
for every day.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from dmarcwatch.models import COUNTERS
from dmarcwatch.reports.models import AggregateRecord, AggregateReport, Disposition, DmarcVerdict

_DAY = timedelta(days=1)
MAX_SPAN_DAYS = 40

DayDeltas = dict[str, dict[str, int]]
SourceDeltas = dict[tuple[str, str], dict[str, int]]


def day_weights(begin: datetime, end: datetime) -> list[tuple[str, float]]:
    """(YYYY-MM-DD, share) for each UTC day the half-open range [begin, end) overlaps.

    Reporters write end as either 23:59:59 or the next midnight; both give one day for a one-day report.
    An empty or inverted range counts wholly on the day it begins. The number of days is computed first
    and refused above `MAX_SPAN_DAYS` (callers check plausibility before; this guards the arithmetic).
    """
    begin, end = begin.astimezone(UTC), end.astimezone(UTC)
    if end <= begin:
        return [(begin.date().isoformat(), 1.0)]
    first = datetime(begin.year, begin.month, begin.day, tzinfo=UTC)
    span = -(-(end - first) // _DAY)  # days touched, rounded up
    if span > MAX_SPAN_DAYS:
        raise ValueError(f"a range of {span} days is longer than {MAX_SPAN_DAYS}")
    total = (end - begin).total_seconds()
    weights: list[tuple[str, float]] = []
    for offset in range(span):
        day_start = first + offset * _DAY
        overlap = (min(end, day_start + _DAY) - max(begin, day_start)).total_seconds()
        # A range ending one second before midnight gives that last second to no one: ignore slivers.
        if overlap >= 1:
            weights.append((day_start.date().isoformat(), overlap / total))
    return weights or [(begin.date().isoformat(), 1.0)]


def split_count(count: int, weights: list[tuple[str, float]]) -> list[tuple[str, int]]:
    """`count` apportioned over the days by the largest-remainder method (sums exactly to `count`)."""
    if len(weights) == 1:
        return [(weights[0][0], count)]
    exact = [count * share for _, share in weights]
    shares = [int(value) for value in exact]
    left = count - sum(shares)
    for i in sorted(range(len(exact)), key=lambda i: exact[i] - shares[i], reverse=True)[:left]:
        shares[i] += 1
    return [(day, shares[i]) for i, (day, _) in enumerate(weights)]


def record_counters(record: AggregateRecord, messages: int) -> dict[str, int]:
    spf = record.policy_spf == DmarcVerdict.PASS
    dkim = record.policy_dkim == DmarcVerdict.PASS
    return {
        "messages": messages,
        "dmarc_pass": messages if record.dmarc_pass else 0,
        "dmarc_fail": 0 if record.dmarc_pass else messages,
        "spf_aligned_pass": messages if spf else 0,
        "dkim_aligned_pass": messages if dkim else 0,
        "disposition_none": messages
        if record.disposition not in (Disposition.QUARANTINE, Disposition.REJECT)
        else 0,
        "disposition_quarantine": messages if record.disposition == Disposition.QUARANTINE else 0,
        "disposition_reject": messages if record.disposition == Disposition.REJECT else 0,
    }


def deltas(report: AggregateReport) -> tuple[DayDeltas, SourceDeltas]:
    """The counters each day and each (day, source IP) gain from this report."""
    weights = day_weights(report.metadata.date_range.begin, report.metadata.date_range.end)
    days: DayDeltas = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    sources: SourceDeltas = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for record in report.records:
        for day, messages in split_count(record.count, weights):
            if messages == 0:
                continue
            counters = record_counters(record, messages)
            for name, value in counters.items():
                days[day][name] += value
                sources[(day, record.source_ip)][name] += value
    return dict(days), dict(sources)
