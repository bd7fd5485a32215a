"""What a lookup changes in a domain's stored WHOIS (pure: the state, the lookup and `now` in, the new
state, the next refresh and the expiry event out).

- Success replaces the record; any failure keeps the last good record and records the reason beside it
  (`last_error`), with the failure as `status`.
- The next refresh: a week later, spread by up to `SPREAD` (a domain's own offset, from its id), so the
  domains of a bulk add do not all fall due in the same minute a week on; but never after the next expiry
  threshold is crossed, so `domain.expiring` goes out on time and a renewal is seen near the end.
  After a 429 or a spent budget: when the server allows (`next_attempt_at`); after an error: `ERROR_RETRY`.
- `domain.expiring` goes out once per threshold and expiry date: when the tightest threshold reached is
  tighter than the one already notified (a domain first seen 3 days before expiry gets one event, for 7
  days, not four), and again from 30 days after a renewal moved the expiry date.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from dmarcwatch.events import DomainExpiring
from dmarcwatch.whois.rdap import Lookup
from dmarcwatch.whois_record import (
    EXPIRY_THRESHOLDS,
    ExpiryNotice,
    WhoisRecord,
    WhoisState,
    WhoisStatus,
    days_to_expiry,
    threshold_reached,
)

REFRESH_EVERY = timedelta(days=7)
SPREAD = timedelta(hours=12)
ERROR_RETRY = timedelta(hours=6)
# Never sooner than this after a lookup (a threshold due in a minute waits for it).
MIN_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class Applied:
    state: WhoisState
    next_refresh_at: datetime
    expiring: DomainExpiring | None


def _offset(domain_id: str) -> timedelta:
    digest = hashlib.sha256(domain_id.encode()).digest()
    return SPREAD * (int.from_bytes(digest[:4], "big") / 2**32)


def next_refresh(domain_id: str, record: WhoisRecord | None, now: datetime) -> datetime:
    """A week on (plus the domain's offset), or sooner: when the next expiry threshold is crossed."""
    at = now + REFRESH_EVERY + _offset(domain_id)
    if record is not None and record.expiry_date is not None:
        crossings = [record.expiry_date - timedelta(days=days) for days in EXPIRY_THRESHOLDS]
        upcoming = [when for when in crossings if when > now]
        if upcoming:
            at = min(at, max(min(upcoming), now + MIN_INTERVAL))
    return at.replace(microsecond=0)


def _expiry_event(state: WhoisState, record: WhoisRecord, now: datetime) -> tuple[ExpiryNotice | None, bool]:
    """The notice to keep and whether a new threshold was reached (send the event)."""
    notice = state.expiry_notice
    if record.expiry_date is None:
        return notice, False
    if notice is not None and notice.expiry_date != record.expiry_date:
        notice = None  # renewed (or corrected): the countdown starts again
    threshold = threshold_reached(days_to_expiry(record, now))
    if threshold is None or (notice is not None and notice.threshold_days <= threshold):
        return notice, False
    return ExpiryNotice(expiry_date=record.expiry_date, threshold_days=threshold), True


def apply(state: WhoisState, lookup: Lookup, now: datetime) -> Applied:
    changes: dict[str, object] = {
        "status": lookup.status,
        "last_refreshed_at": now,
        "last_error": lookup.error,
        "next_attempt_at": None,
    }
    if lookup.status is WhoisStatus.OK and lookup.record is not None:
        record = lookup.record
        notice, send = _expiry_event(state, record, now)
        changes.update(record=record, fetched_at=now, expiry_notice=notice)
        new = state.model_copy(update=changes)
        at = next_refresh(state.domain_id, record, now)
        event = None
        if send and notice is not None:
            event = DomainExpiring(
                domain_id=state.domain_id,
                domain=state.domain,
                expiry_date=notice.expiry_date,
                days_to_expiry=days_to_expiry(record, now) or 0,
                threshold_days=notice.threshold_days,
                registrar=record.registrar,
            )
        return Applied(new.model_copy(update={"next_refresh_at": at}), at, event)
    if lookup.status is WhoisStatus.RATE_LIMITED:
        at = now + timedelta(seconds=lookup.retry_after or 0)
        changes["next_attempt_at"] = at
    elif lookup.status is WhoisStatus.ERROR:
        at = now + ERROR_RETRY
    else:  # NOT_FOUND, UNSUPPORTED_TLD: ask again on the weekly round
        at = next_refresh(state.domain_id, None, now)
    changes["next_refresh_at"] = at
    return Applied(state.model_copy(update=changes), at, None)
