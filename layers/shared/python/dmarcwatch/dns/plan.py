"""What a scan asks beyond the fixed names, from what earlier scans found: the DKIM selectors.

Selectors cannot be listed from the DNS, so finding keys means guessing names: the common list
(`data/dkim_selectors.json`, ~50 names) costs a query each, most of a scan's queries. Keys rarely move, so
a rescan does not guess again every time:

- a first scan asks the common list and the selectors seen in the domain's DMARC reports;
- a rescan asks the selectors found before (in the previous scan, and those the caller remembers as found),
  the ones whose lookup failed last time, and those seen in reports (reports name the selectors that
  actually sign the domain's mail, so a new sender's key is asked as soon as its reports arrive);
- the common list again once a week (`COMMON_PROBE_INTERVAL`), and on scans the tenant asked for (a
  refresh after publishing a key should find it).

The time of the last probe of the common list travels with each result (`ScanResult.
dkim_common_probed_at`). A probe with a failed lookup does not count (the next scan probes again). A
result stored before that field existed has no time, but every scan then asked the common list: its own
time stands in when its lookups succeeded.

`dns.diff` compares DKIM only over the selectors both scans asked, so a selector a rescan did not ask is
never reported as removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dmarcwatch.dns.dkim import selector_table
from dmarcwatch.dns.result import ScanResult

COMMON_PROBE_INTERVAL = timedelta(days=7)
_DKIM_CHECK = "dkim:"


@dataclass(frozen=True)
class ScanPlan:
    """The DKIM selectors a scan asks: `selectors` in this order (within the scan's limit of extra
    selectors), and the common list when `common`. `common_probed_at`: the last successful probe of the
    common list before this scan (None: never). `srv_before`: the previous scan found SRV records, so they
    are asked again even if the domain no longer has MX (their removal is seen, not assumed)."""

    selectors: tuple[str, ...] = ()
    common: bool = True
    common_probed_at: datetime | None = None
    srv_before: bool = False


def probed_common(result: ScanResult) -> bool:
    """Whether `result` asked every common selector and none of those lookups failed."""
    common = selector_table().keys()
    if not common <= set(result.dkim_selectors_checked):
        return False
    return not any(
        error.check.startswith(_DKIM_CHECK) and error.check.removeprefix(_DKIM_CHECK) in common
        for error in result.errors
    )


def last_common_probe(result: ScanResult) -> datetime | None:
    """When the common list was last probed successfully, as of `result` (see the module docstring)."""
    if result.dkim_common_probed_at is not None:
        return result.dkim_common_probed_at
    return result.scanned_at if probed_common(result) else None


def plan_scan(
    previous: ScanResult | None, reported: Iterable[str] = (), *, now: datetime, requested: bool = False
) -> ScanPlan:
    """The plan of a scan at `now` after `previous` (None: a first scan). `reported`: selectors from the
    domain's reports, those already found in the DNS first (the caller's ranking). `requested`: the tenant
    asked for this scan."""
    if previous is None:
        return ScanPlan(selectors=tuple(reported), common=True)
    last = last_common_probe(previous)
    due = requested or last is None or now - last >= COMMON_PROBE_INTERVAL
    failed = [
        error.check.removeprefix(_DKIM_CHECK)
        for error in previous.errors
        if error.check.startswith(_DKIM_CHECK)
    ]
    found = [key.selector for key in previous.dkim_selectors_found]
    return ScanPlan(
        selectors=tuple(dict.fromkeys([*found, *failed, *reported])),
        common=due,
        common_probed_at=last,
        srv_before=bool(previous.srv),
    )
