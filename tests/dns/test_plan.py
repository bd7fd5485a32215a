"""Planned scans (dns.plan): what a first scan and a rescan ask, and that they find what the scan that asks
everything finds, on the fixture zones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dmarcwatch import geo
from dmarcwatch.dns.detect import Detector, default_detector
from dmarcwatch.dns.diff import diff_results
from dmarcwatch.dns.dkim import selector_table
from dmarcwatch.dns.plan import COMMON_PROBE_INTERVAL, ScanPlan, last_common_probe, plan_scan
from dmarcwatch.dns.result import DkimStatus, ScanError, ScanResult
from dmarcwatch.dns.scan import SCAN_MAX_CONCURRENCY, SCAN_MAX_QUERIES, SRV_SERVICES, scan_domain
from tests.dns.conftest import recording_session, run

pytestmark = pytest.mark.usefixtures("dns_server")

COMMON = list(selector_table())
# What differs between two scans of an unchanged zone, whatever they asked.
VOLATILE = {"scanned_at", "duration_ms", "queries_sent", "dkim_common_probed_at"}


@pytest.fixture(scope="module")
def detector() -> Detector:
    geo.load()
    return default_detector().retargeted("test")


def recorded_scan(
    domain: str, detector: Detector, plan: ScanPlan | None, **options: Any
) -> tuple[ScanResult, list[tuple[str, str]]]:
    async def go() -> tuple[ScanResult, list[tuple[str, str]]]:
        session, recorder = recording_session(
            max_queries=SCAN_MAX_QUERIES, max_concurrency=SCAN_MAX_CONCURRENCY
        )
        result = await scan_domain(domain, session=session, detector=detector, plan=plan, **options)
        return result, recorder.calls

    return run(go())


def findings(result: ScanResult) -> dict[str, Any]:
    return result.model_dump(mode="json", exclude=VOLATILE)


def asked(calls: list[tuple[str, str]], rdtype: str) -> set[str]:
    return {name.rstrip(".") for name, kind in calls if kind == rdtype}


# --- the plan ----------------------------------------------------------------------------------------------


def stored(**fields: Any) -> ScanResult:
    """A previous result as the store gives it back (from JSON), with `fields` set; without
    `dkim_common_probed_at` among them, as stored before that field existed."""
    base = ScanResult(domain="acme.test", scanned_at="2026-03-01T00:00:00Z")  # type: ignore[arg-type]
    document = base.model_copy(update=fields).model_dump(mode="json")
    if "dkim_common_probed_at" not in fields:
        del document["dkim_common_probed_at"]
    return ScanResult.model_validate(document)


def test_a_first_scan_asks_the_common_list_and_the_reported_selectors() -> None:
    plan = plan_scan(None, ["acme2024"], now=stored().scanned_at)
    assert (plan.common, plan.selectors, plan.common_probed_at) == (True, ("acme2024",), None)


def test_a_rescan_asks_what_was_found_failed_or_reported_and_the_common_list_weekly() -> None:
    from dmarcwatch.dns.result import DkimSelector

    probed = stored().scanned_at
    previous = stored(
        dkim_selectors_found=[DkimSelector(selector="google", record="v=DKIM1; p=x", key_type="rsa")],
        dkim_selectors_checked=[*COMMON, "acme2024"],
        errors=[ScanError(check="dkim:acme2024", outcome="timeout", message="...")],
        dkim_common_probed_at=probed,
    )
    day_later = plan_scan(previous, ["s1", "acme2024", "fresh"], now=probed + timedelta(days=1))
    assert day_later.common is False
    assert day_later.selectors == ("google", "acme2024", "s1", "fresh")
    assert day_later.common_probed_at == probed
    week_later = plan_scan(previous, [], now=probed + COMMON_PROBE_INTERVAL)
    assert (week_later.common, week_later.selectors) == (True, ("google", "acme2024"))
    # The tenant asked for the scan: the common list too, whatever the week.
    assert plan_scan(previous, [], now=probed + timedelta(hours=1), requested=True).common is True


def test_a_result_stored_before_the_probe_time_existed_counts_as_a_probe_when_it_asked_every_selector() -> (
    None
):
    legacy = stored(dkim_selectors_checked=[*COMMON, "acme2024"])
    assert last_common_probe(legacy) == legacy.scanned_at
    assert plan_scan(legacy, [], now=legacy.scanned_at + timedelta(days=1)).common is False
    # ... unless one of those lookups failed, or the list was not asked in full.
    failed = stored(
        dkim_selectors_checked=COMMON,
        errors=[ScanError(check=f"dkim:{COMMON[3]}", outcome="servfail", message="...")],
    )
    assert last_common_probe(failed) is None
    assert last_common_probe(stored(dkim_selectors_checked=COMMON[:10])) is None
    assert plan_scan(failed, [], now=failed.scanned_at + timedelta(hours=1)).common is True


# --- planned scans find what the full scan finds ----------------------------------------------------------

DOMAINS = [
    "acme.test",
    "corp-a.test",
    "corp-b.test",
    "secure.dnssec.test",
    "partial.test",
    "nullmx.test",
    "sub.corp-a.test",
    "ghost.np.test",
    "mail.eu.walk.test",
    "nodmarc.test",
    "servfail.test",
    "void.test",
    "bigmx.test",
]


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_planned_first_scan_finds_what_the_full_scan_finds(domain: str, detector: Detector) -> None:
    full, full_calls = recorded_scan(domain, detector, None, extra_dkim_selectors=["acme2024"])
    planned, planned_calls = recorded_scan(
        domain, detector, plan_scan(None, ["acme2024"], now=full.scanned_at)
    )
    assert findings(planned) == findings(full)
    assert set(planned_calls) <= set(full_calls) | {
        (f"_domainkey.{domain}.", "TXT"),
        (f"_tcp.{domain}.", "TXT"),
    }
    # At most the two probes more (a domain with DKIM keys and SRV services), usually fewer.
    assert len(planned_calls) <= len(full_calls) + 2
    common_failed = planned.failed_checks() & {f"dkim:{selector}" for selector in COMMON}
    assert planned.dkim_common_probed_at == (None if common_failed else planned.scanned_at)


def test_a_rescan_asks_only_the_selectors_it_knows_and_finds_no_change(detector: Detector) -> None:
    first, first_calls = recorded_scan(
        "acme.test", detector, plan_scan(None, ["acme2024"], now=stored().scanned_at)
    )
    plan = plan_scan(first, ["acme2024"], now=first.scanned_at + timedelta(days=1))
    rescan, calls = recorded_scan("acme.test", detector, plan)
    assert diff_results(first, rescan) == []
    assert findings(rescan) == {
        **findings(first),
        "dkim_selectors_checked": ["google", "selector1", "k1", "s1", "acme2024"],
    }
    assert asked(calls, "TXT") & {f"{s}._domainkey.acme.test" for s in COMMON} == {
        f"{s}._domainkey.acme.test" for s in ("google", "selector1", "k1", "s1")
    }
    assert ("_domainkey.acme.test.", "TXT") not in calls
    assert len(first_calls) - len(calls) == len(COMMON) + 1 - 4
    # The probe time carries over until the next weekly probe.
    assert rescan.dkim_common_probed_at == first.scanned_at
    assert rescan.dkim_status is DkimStatus.FOUND


def test_a_domain_without_dkim_names_costs_one_probe_not_fifty(detector: Detector) -> None:
    result, calls = recorded_scan("corp-b.test", detector, plan_scan(None, now=stored().scanned_at))
    assert ("_domainkey.corp-b.test.", "TXT") in calls
    assert not any(name.endswith("._domainkey.corp-b.test.") for name, _ in calls)
    assert result.dkim_selectors_checked == COMMON
    assert result.dkim_status is DkimStatus.NOT_FOUND


def test_srv_names_are_asked_only_when_the_domain_receives_mail(detector: Detector) -> None:
    first = plan_scan(None, now=stored().scanned_at)
    srv = {f"{service}.stub.test" for service in SRV_SERVICES}
    # stub.test publishes an SRV record but no MX: nothing to ask, not even _tcp.
    result, calls = recorded_scan("stub.test", detector, first)
    assert (asked(calls, "SRV"), asked(calls, "TXT") & {"_tcp.stub.test"}, result.srv) == (set(), set(), [])
    # A null MX receives no mail either.
    _, calls = recorded_scan("nullmx.test", detector, first)
    assert asked(calls, "SRV") == set()
    # With MX but nothing under _tcp (NXDOMAIN), one probe stands for the six names.
    _, calls = recorded_scan("corp-a.test", detector, first)
    assert (asked(calls, "SRV"), ("_tcp.corp-a.test.", "TXT") in calls) == (set(), True)
    # With MX and services: all of them.
    result, calls = recorded_scan("acme.test", detector, first)
    assert asked(calls, "SRV") == {f"{service}.acme.test" for service in SRV_SERVICES}
    assert len(result.srv) == 5
    # A domain whose previous scan found SRV records is asked again even without MX, so a removal is seen.
    result, calls = recorded_scan("stub.test", detector, ScanPlan(common=False, srv_before=True))
    assert asked(calls, "SRV") == srv
    assert [(entry.service, entry.target) for entry in result.srv] == [("_imaps._tcp", "imap.stub.test")]


def test_the_dmarc_tree_walk_asks_public_suffixes_only_without_a_nearer_record(detector: Detector) -> None:
    plan = ScanPlan(common=False)
    _, calls = recorded_scan("acme.test", detector, plan)
    assert "_dmarc.test" not in asked(calls, "TXT")
    _, calls = recorded_scan("sub.corp-a.test", detector, plan)
    assert {"_dmarc.sub.corp-a.test", "_dmarc.corp-a.test"} <= asked(calls, "TXT")
    assert "_dmarc.test" not in asked(calls, "TXT")
    result, calls = recorded_scan("nodmarc.test", detector, plan)
    assert "_dmarc.test" in asked(calls, "TXT")
    assert result.dmarc_status == "missing"


def test_a_planned_scan_is_no_deeper_than_the_full_one() -> None:
    async def go() -> int:
        session, recorder = recording_session(
            delay=0.25, max_queries=SCAN_MAX_QUERIES, max_concurrency=SCAN_MAX_CONCURRENCY
        )
        await scan_domain(
            "acme.test", session=session, plan=plan_scan(None, ["acme2024"], now=stored().scanned_at)
        )
        return recorder.rounds()

    assert run(go()) == 3
