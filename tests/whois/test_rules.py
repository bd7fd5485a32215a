"""The pure rules of WHOIS, with a frozen clock (`now` passed in): days to expiry and warnings, the expiry
event once per threshold, the next refresh, EPP status names, privacy services and Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dmarcwatch.whois.fields import epp_status
from dmarcwatch.whois.outcome import REFRESH_EVERY, SPREAD, apply, next_refresh
from dmarcwatch.whois.privacy import privacy_reasons, privacy_service
from dmarcwatch.whois.rdap import Lookup
from dmarcwatch.whois.transport import MAX_RETRY_AFTER, retry_after_seconds
from dmarcwatch.whois_record import WhoisRecord, WhoisState, WhoisStatus, days_to_expiry, expiry_warnings

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def record(expires_in: timedelta | None, statuses: list[str] | None = None) -> WhoisRecord:
    return WhoisRecord(
        domain_name="corp.test",
        registrar="Example Registrar, Inc.",
        expiry_date=NOW + expires_in if expires_in is not None else None,
        domain_statuses=statuses or [],
    )


@pytest.mark.parametrize(
    ("expires_in", "days", "warnings"),
    [
        (timedelta(days=400), 400, []),
        (timedelta(days=30, hours=1), 30, ["expires_within_30_days"]),
        (timedelta(days=31), 31, []),
        (timedelta(days=14), 14, ["expires_within_14_days"]),
        (timedelta(days=7, hours=23), 7, ["expires_within_7_days"]),
        (timedelta(days=1, hours=2), 1, ["expires_within_1_day"]),
        (timedelta(hours=5), 0, ["expires_within_1_day"]),
        (timedelta(hours=-5), -1, ["expired"]),
        (None, None, []),
    ],
)
def test_days_to_expiry_and_the_tightest_warning(
    expires_in: timedelta | None, days: int | None, warnings: list[str]
) -> None:
    assert days_to_expiry(record(expires_in), NOW) == days
    assert expiry_warnings(record(expires_in), NOW) == warnings


def test_risky_epp_statuses_are_warnings_too() -> None:
    risky = record(timedelta(days=3), ["redemptionPeriod", "clientHold", "pendingDelete"])
    assert expiry_warnings(risky, NOW) == ["expires_within_7_days", "redemptionPeriod", "pendingDelete"]
    assert expiry_warnings(None, NOW) == []


def state() -> WhoisState:
    return WhoisState(domain_id="dom_00000000000000000001", domain="corp.test")


def test_the_expiry_event_goes_out_once_per_threshold_and_again_after_a_renewal() -> None:
    expiry = timedelta(days=20)
    first = apply(state(), Lookup(WhoisStatus.OK, record(expiry)), NOW)
    assert first.expiring is not None
    assert (first.expiring.threshold_days, first.expiring.days_to_expiry) == (30, 20)
    # Two days later: still within 30, not 14: nothing new.
    later = NOW + timedelta(days=2)
    same = apply(first.state, Lookup(WhoisStatus.OK, record(expiry)), later)
    assert same.expiring is None
    # Within 7 straight from 30 (no refresh in between): one event, for 7.
    late = NOW + timedelta(days=15)
    tighter = apply(same.state, Lookup(WhoisStatus.OK, record(expiry)), late)
    assert tighter.expiring is not None
    assert tighter.expiring.threshold_days == 7
    # A failed lookup keeps the notice and the record.
    failed = apply(tighter.state, Lookup(WhoisStatus.ERROR, error="timeout"), late)
    assert failed.state.record == tighter.state.record
    assert failed.state.expiry_notice == tighter.state.expiry_notice
    assert failed.state.last_error == "timeout"
    assert failed.expiring is None
    # Renewed for a year: the countdown starts again.
    renewed = apply(failed.state, Lookup(WhoisStatus.OK, record(timedelta(days=380))), late)
    assert renewed.state.expiry_notice is None
    assert renewed.expiring is None
    assert renewed.state.last_error is None


def test_the_next_refresh_is_weekly_spread_and_never_after_a_threshold() -> None:
    far = next_refresh("dom_a", record(timedelta(days=400)), NOW)
    assert NOW + REFRESH_EVERY <= far < NOW + REFRESH_EVERY + SPREAD
    assert next_refresh("dom_a", None, NOW) == far
    offsets = {next_refresh(f"dom_{i}", None, NOW) for i in range(50)}
    assert len(offsets) > 40  # a bulk add's domains do not fall due together
    # 10 days left: the 7-day threshold is crossed in 3 days, before the weekly round.
    near = next_refresh("dom_a", record(timedelta(days=10)), NOW)
    assert near == NOW + timedelta(days=3)
    # A threshold crossed in minutes waits at least an hour.
    assert next_refresh("dom_a", record(timedelta(days=7, minutes=5)), NOW) == NOW + timedelta(hours=1)


def test_rate_limited_and_errors_keep_the_data_and_retry() -> None:
    good = apply(state(), Lookup(WhoisStatus.OK, record(timedelta(days=400))), NOW)
    limited = apply(good.state, Lookup(WhoisStatus.RATE_LIMITED, error="rate limited", retry_after=90), NOW)
    assert limited.state.next_attempt_at == NOW + timedelta(seconds=90)
    assert limited.next_refresh_at == NOW + timedelta(seconds=90)
    assert limited.state.record == good.state.record
    assert limited.state.fetched_at == NOW
    errored = apply(good.state, Lookup(WhoisStatus.ERROR, error="bad json"), NOW + timedelta(hours=1))
    assert errored.state.status is WhoisStatus.ERROR
    assert errored.next_refresh_at == NOW + timedelta(hours=7)


@pytest.mark.parametrize(
    ("rdap", "epp"),
    [
        ("client transfer prohibited", "clientTransferProhibited"),
        ("active", "ok"),
        ("redemption period", "redemptionPeriod"),
        ("pending delete", "pendingDelete"),
        ("server hold", "serverHold"),
        ("associated", "linked"),
    ],
)
def test_rdap_statuses_become_epp_codes(rdap: str, epp: str) -> None:
    assert epp_status(rdap) == epp


def test_privacy_services_and_redactions() -> None:
    assert privacy_service(["Withheld for Privacy ehf"]) == "Withheld for Privacy"
    assert privacy_service([None, "Contact Privacy Inc. Customer 0123"]) == "Contact Privacy Inc."
    assert privacy_service(["x@privacyguardian.org"]) == "PrivacyGuardian.org"
    assert privacy_service(["Whois Privacy Protection Service, Inc."]) == "Whois Privacy Protection Service"
    assert privacy_service(["Data Protected"]) == "Data Protected"
    assert privacy_service(["Acme Widgets GmbH", "ops@acme.test"]) is None
    assert privacy_reasons(["Registrant Email"], ["Acme"]) == ["redacted"]
    assert privacy_reasons(["Tech Name"], ["Acme"]) == []


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("120", NOW) == 120
    assert retry_after_seconds("Mon, 01 Jun 2026 12:05:00 GMT", NOW) == 300
    assert retry_after_seconds("9999999", NOW) == MAX_RETRY_AFTER
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None
