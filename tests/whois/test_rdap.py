"""RDAP lookups against the fake RDAP server on 127.0.0.1 over HTTPS, through the worker's code: the
registrar link, redaction and privacy services, 404, 429 with Retry-After, bad JSON, a hung server, http
refused, unknown TLDs, the per-server budget, the bootstrap's sources and the expiry event."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from dmarcwatch.store import events as event_store
from dmarcwatch.store import rdap_bootstrap as bootstrap_store
from dmarcwatch.store import whois as whois_store
from dmarcwatch.store.rdap_bootstrap import CachedBootstrap
from dmarcwatch.whois.messages import WhoisOrigin, WhoisRequest
from dmarcwatch.whois.refresh import Done, run_requests
from dmarcwatch.whois_record import WhoisState, WhoisStatus
from tests.support.rdap import FakeRdap, Reply
from tests.whois.support import days_from_now, delayed, queued, serve_domain, tenant_with_domains

pytestmark = pytest.mark.filterwarnings("ignore::whoisit.errors.QueryWarning")


def look_up(*names: str) -> list[WhoisState]:
    """Add the names to a new tenant, run the worker's lookups of them, return the stored states."""
    tenant, added = tenant_with_domains(*names)
    requests = [WhoisRequest.of(tenant, d.id, d.name, WhoisOrigin.ADDED) for d in added]
    outcomes = run_requests(requests)
    assert all(o.done is Done.RECORDED for o in outcomes), outcomes
    states = [whois_store.get(tenant, d.id) for d in added]
    return [s.state for s in states if s is not None]


def test_the_registrars_link_is_followed_for_registrant_detail(rdap: FakeRdap) -> None:
    serve_domain(rdap, "corp.test")
    (state,) = look_up("corp.test")
    assert state.status is WhoisStatus.OK
    assert state.last_error is None
    record = state.record
    assert record is not None
    assert rdap.count("/registry/domain/corp.test") == 1
    assert rdap.count("/registrar/domain/corp.test") == 1
    assert record.registrar == "Example Registrar, Inc."
    assert record.registrar_iana_id == "9999"
    assert (record.registrant_name, record.registrant_org) == ("Jane Owner", "Corp Ltd")
    assert (record.registrant_country, record.registrant_state) == ("CA", "Ontario")
    assert record.contact_email == "owner@corp.test"
    assert (record.registrar_abuse_email, record.registrar_abuse_phone) == (
        "abuse@registrar.test",
        "+1.5555550100",
    )
    assert record.domain_statuses == ["clientTransferProhibited", "clientDeleteProhibited"]
    assert record.name_servers == ["ns1.hoster.test", "ns2.hoster.test"]
    assert record.dnssec_status == "signed"
    assert record.whois_server == "whois.nic.test"
    assert record.expiry_date is not None
    assert record.expiry_date.isoformat() == "2031-03-01T00:00:00+00:00"
    assert record.registration_date is not None
    assert record.registration_date.year == 2001
    assert record.privacy_enabled is False
    assert record.privacy_reasons == []
    assert record.rdap_servers == [
        rdap.url("/registry/domain/corp.test"),
        rdap.url("/registrar/domain/corp.test"),
    ]


def test_redaction_and_privacy_services_set_privacy(rdap: FakeRdap) -> None:
    serve_domain(rdap, "hidden.test", redacted=True, org="REDACTED FOR PRIVACY")
    serve_domain(rdap, "proxied.test", org="Domains By Proxy, LLC")
    hidden, proxied = look_up("hidden.test", "proxied.test")
    assert hidden.record is not None
    assert hidden.record.privacy_enabled
    assert hidden.record.privacy_reasons == ["redacted", "Redacted for Privacy"]
    assert hidden.record.registrant_name is None
    assert proxied.record is not None
    assert proxied.record.privacy_enabled
    assert proxied.record.privacy_reasons == ["Domains By Proxy"]


def test_a_domain_the_registry_does_not_know_is_not_found(rdap: FakeRdap) -> None:
    (state,) = look_up("nobody.test")
    assert state.status is WhoisStatus.NOT_FOUND
    assert state.record is None
    assert "404" in (state.last_error or "")


def test_a_429_waits_for_retry_after_keeps_the_data_and_comes_back_delayed(
    rdap: FakeRdap, whois_queue: str
) -> None:
    serve_domain(rdap, "busy.test")
    tenant, (domain,) = tenant_with_domains("busy.test")
    queued(whois_queue)  # the first lookup the add sent
    request = WhoisRequest.of(tenant, domain.id, domain.name, WhoisOrigin.ADDED)
    assert run_requests([request])[0].status is WhoisStatus.OK
    rdap.replies["/registry/domain/busy.test"] = Reply(
        429, {"errorCode": 429}, headers={"Retry-After": "120"}
    )
    before = time.time()
    assert run_requests([request])[0].status is WhoisStatus.RATE_LIMITED
    stored = whois_store.get(tenant, domain.id)
    assert stored is not None
    state = stored.state
    assert state.record is not None
    assert state.record.registrar == "Example Registrar, Inc."
    assert state.next_attempt_at is not None
    assert 115 <= state.next_attempt_at.timestamp() - before <= 125
    assert "rate limited by 127.0.0.1" in (state.last_error or "")
    assert delayed(whois_queue) == 1
    # The same request while it waits: nothing is asked.
    asked = len(rdap.asked)
    assert run_requests([request])[0].done is Done.WAITING
    assert len(rdap.asked) == asked


def test_an_answer_that_is_not_json_is_an_error_and_the_last_good_data_stays(rdap: FakeRdap) -> None:
    serve_domain(rdap, "garbled.test")
    tenant, (domain,) = tenant_with_domains("garbled.test")
    request = WhoisRequest.of(tenant, domain.id, domain.name, WhoisOrigin.ADDED)
    run_requests([request])
    rdap.replies["/registry/domain/garbled.test"] = Reply(raw=b"<html>oops</html>")
    assert run_requests([request])[0].status is WhoisStatus.ERROR
    stored = whois_store.get(tenant, domain.id)
    assert stored is not None
    assert stored.state.status is WhoisStatus.ERROR
    assert "could not be read" in (stored.state.last_error or "")
    assert stored.state.record is not None
    assert stored.state.record.registrar == "Example Registrar, Inc."


def test_a_hung_server_times_out(rdap: FakeRdap) -> None:
    rdap.replies["/registry/domain/slow.test"] = Reply(hang=10)
    started = time.monotonic()
    (state,) = look_up("slow.test")
    assert time.monotonic() - started < 8
    assert state.status is WhoisStatus.ERROR
    assert "in time" in (state.last_error or "") or "within" in (state.last_error or "")


def test_http_endpoints_are_refused(rdap: FakeRdap) -> None:
    # The bootstrap names only an http service for .example: never asked.
    (insecure,) = look_up("shop.example")
    assert insecure.status is WhoisStatus.UNSUPPORTED_TLD
    assert "http only" in (insecure.last_error or "")
    # A registrar link over http: the registry's data, the link refused before any connection.
    serve_domain(rdap, "linked.test")
    rdap.replies["/registry/domain/linked.test"].body["links"][0]["href"] = (
        f"http://127.0.0.1:{rdap.port}/registrar/domain/linked.test"
    )
    (linked,) = look_up("linked.test")
    assert linked.status is WhoisStatus.OK
    assert linked.record is not None
    assert linked.record.registrar == "Example Registrar, Inc."
    assert linked.record.registrant_org is None
    assert "https only" in (linked.last_error or "")
    assert rdap.count("/registrar/domain/linked.test") == 0


def test_a_tld_without_rdap_is_unsupported(rdap: FakeRdap) -> None:
    (state,) = look_up("site.invalid")
    assert state.status is WhoisStatus.UNSUPPORTED_TLD
    assert state.record is None


def test_each_server_has_a_shared_budget_per_minute(rdap: FakeRdap, monkeypatch: pytest.MonkeyPatch) -> None:
    from dmarcwatch.config import get_settings

    monkeypatch.setenv("DMARCWATCH_RDAP_REQUESTS_PER_HOST_PER_MINUTE", "1")
    get_settings.cache_clear()
    serve_domain(rdap, "one.test", registrar_link=False)
    serve_domain(rdap, "two.test", registrar_link=False)
    states = look_up("one.test", "two.test")
    assert sorted(s.status.value for s in states) == ["ok", "rate_limited"]
    limited = next(s for s in states if s.status is WhoisStatus.RATE_LIMITED)
    assert limited.next_attempt_at is not None
    assert limited.last_refreshed_at is not None
    assert 0 < (limited.next_attempt_at - limited.last_refreshed_at).total_seconds() <= 61
    assert len([p for p in rdap.asked if p.startswith("/registry/")]) == 1


def test_the_bootstrap_is_fetched_once_and_kept_in_the_bucket(rdap: FakeRdap) -> None:
    serve_domain(rdap, "corp.test")
    look_up("corp.test")
    look_up("corp.test")
    assert rdap.count("/bootstrap/dns.json") == 1
    stored = bootstrap_store.get()
    assert stored is not None
    assert stored.source == rdap.url("/bootstrap/dns.json")
    assert stored.dns["services"][0][0] == ["test"]


def test_a_stale_copy_serves_while_iana_is_down(rdap: FakeRdap) -> None:
    from dmarcwatch.whois import bootstrap

    serve_domain(rdap, "corp.test")
    bootstrap_store.put(
        CachedBootstrap(days_from_now(-8), rdap.url("/bootstrap/dns.json"), rdap.bootstrap_document())
    )
    rdap.replies["/bootstrap/dns.json"] = Reply(503, {"error": "down"})
    bootstrap.forget()
    (state,) = look_up("corp.test")
    assert state.status is WhoisStatus.OK
    assert rdap.count("/bootstrap/dns.json") == 1


def test_without_any_bootstrap_every_lookup_fails_with_the_reason(rdap: FakeRdap) -> None:
    rdap.replies["/bootstrap/dns.json"] = Reply(503, {"error": "down"})
    (state,) = look_up("corp.test")
    assert state.status is WhoisStatus.ERROR
    assert (state.last_error or "").startswith("no RDAP bootstrap data")
    # The failure is remembered for a while: the next batch does not ask again.
    (again,) = look_up("corp.test")
    assert again.last_error == state.last_error
    assert rdap.count("/bootstrap/dns.json") == 1


def test_an_http_bootstrap_url_is_refused(rdap: FakeRdap, monkeypatch: pytest.MonkeyPatch) -> None:
    from dmarcwatch.config import get_settings

    monkeypatch.setenv("DMARCWATCH_RDAP_BOOTSTRAP_URL", f"http://127.0.0.1:{rdap.port}/bootstrap/dns.json")
    get_settings.cache_clear()
    (state,) = look_up("corp.test")
    assert state.status is WhoisStatus.ERROR
    assert "must be https" in (state.last_error or "")
    assert rdap.count("/bootstrap/dns.json") == 0


def test_domain_expiring_is_sent_once_per_threshold(rdap: FakeRdap) -> None:
    expiry = days_from_now(10.5)
    serve_domain(rdap, "renew.test", expiry=expiry)
    tenant, (domain,) = tenant_with_domains("renew.test")
    request = WhoisRequest.of(tenant, domain.id, domain.name, WhoisOrigin.ADDED)
    assert run_requests([request])[0].expiring_event
    assert not run_requests([request])[0].expiring_event
    expiring = [
        e for e in event_store.recent_events(tenant.account_id, "live") if e.payload.type == "domain.expiring"
    ]
    assert len(expiring) == 1
    payload = expiring[0].payload
    assert payload.model_dump()["threshold_days"] == 14
    assert payload.model_dump()["days_to_expiry"] == 10
    # The domain item carries the date for the dashboard's expiring_30d.
    from dmarcwatch.store import domains as domain_store

    listed = domain_store.get_by_id(tenant, domain.id)
    assert listed is not None
    assert listed.registration_expires_at == expiry
    # The next refresh comes before the 7-day threshold, not a week later.
    stored = whois_store.get(tenant, domain.id)
    assert stored is not None
    assert stored.state.next_refresh_at is not None
    assert stored.state.next_refresh_at <= days_from_now(3.5) + timedelta(minutes=1)
    # Renewed: a new expiry date starts the countdown again (nothing within 30 days now).
    serve_domain(rdap, "renew.test", expiry=days_from_now(375))
    assert not run_requests([request])[0].expiring_event
    renewed = whois_store.get(tenant, domain.id)
    assert renewed is not None
    assert renewed.state.expiry_notice is None


def test_a_paused_domain_is_looked_up_only_on_request(rdap: FakeRdap) -> None:
    from dmarcwatch.models import DomainStatus
    from dmarcwatch.services import domains

    serve_domain(rdap, "paused.test")
    tenant, (domain,) = tenant_with_domains("paused.test")
    domains.set_status(tenant, domain.id, DomainStatus.INACTIVE)
    scheduled = WhoisRequest.of(tenant, domain.id, domain.name, WhoisOrigin.SCHEDULE)
    assert run_requests([scheduled])[0].done is Done.SKIPPED
    assert rdap.asked == []
    stored = whois_store.get(tenant, domain.id)
    assert stored is not None
    assert stored.state.status is WhoisStatus.PENDING
    asked = WhoisRequest.of(tenant, domain.id, domain.name, WhoisOrigin.REFRESH)
    assert run_requests([asked])[0].status is WhoisStatus.OK


def test_a_deleted_domain_is_not_looked_up(rdap: FakeRdap) -> None:
    from dmarcwatch.services import domains

    serve_domain(rdap, "gone.test")
    tenant, (domain,) = tenant_with_domains("gone.test")
    domains.delete_domain(tenant, domain.id)
    request = WhoisRequest.of(tenant, domain.id, domain.name, WhoisOrigin.ADDED)
    # Removed (kept for a while, so it can be restored) or gone altogether: not looked up either way.
    assert run_requests([request])[0].done in (Done.GONE, Done.SKIPPED)
    assert rdap.asked == []
