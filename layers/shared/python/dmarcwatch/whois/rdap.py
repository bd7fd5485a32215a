"""One RDAP lookup of a domain with whoisit: the registry's answer, overlaid with the registrar's (the
registry's `related` link, which whoisit follows), turned into an outcome the worker records.

Every failure is an outcome with a reason, never an exception: the TLD has no RDAP service (or only an
http one, which is refused), the registry has no such domain (404), a 429 or our own per-server budget
(with the seconds to wait), a timeout (per request, and `rdap_lookup_deadline_seconds` for the whole
lookup), an answer that is not RDAP JSON, a server error. A registrar link that fails leaves the
registry's data, with the reason noted.
"""

from __future__ import annotations

import asyncio
import warnings
from dataclasses import dataclass

import httpx
import whoisit
from whoisit.errors import (
    QueryError,
    QueryWarning,
    RateLimitedError,
    ResourceDoesNotExist,
    UnsupportedError,
    WhoisItError,
)

from dmarcwatch.config import get_settings
from dmarcwatch.whois.bootstrap import ssl_context
from dmarcwatch.whois.fields import record_from_rdap
from dmarcwatch.whois.transport import (
    Budget,
    GuardedTransport,
    HostBudgetSpent,
    RefusedEndpoint,
    Trace,
    current_trace,
)
from dmarcwatch.whois_record import WhoisRecord, WhoisStatus

# When a 429 names no Retry-After.
DEFAULT_RETRY_AFTER = 60

# whoisit warns when the registrar link fails and goes on with the registry's data; the trace says why.
warnings.filterwarnings("ignore", category=QueryWarning)


@dataclass(frozen=True)
class Lookup:
    status: WhoisStatus
    record: WhoisRecord | None = None
    # Why it failed, or (with a record) what was missing: a registrar link that did not answer.
    error: str | None = None
    # With RATE_LIMITED: seconds to wait.
    retry_after: int | None = None


def make_client(budget: Budget) -> httpx.AsyncClient:
    """whoisit's client: our transport over httpx's, trusting the system's (and the operator's) CAs."""
    settings = get_settings()
    timeout = httpx.Timeout(settings.rdap_timeout_seconds)
    inner = httpx.AsyncHTTPTransport(verify=ssl_context(), retries=1)
    return httpx.AsyncClient(
        transport=GuardedTransport(inner, budget, timeout),
        timeout=timeout,
        follow_redirects=True,
        max_redirects=3,
        headers={"Accept": "application/rdap+json, application/json"},
    )


def _failure(error: QueryError, trace: Trace) -> Lookup:
    cause = error.__cause__
    if isinstance(error, RateLimitedError) or isinstance(cause, HostBudgetSpent):
        host = trace.limited_host or "the RDAP server"
        seconds = trace.retry_after if trace.retry_after is not None else DEFAULT_RETRY_AFTER
        return Lookup(WhoisStatus.RATE_LIMITED, error=f"rate limited by {host}", retry_after=seconds)
    if isinstance(cause, RefusedEndpoint):
        return Lookup(WhoisStatus.ERROR, error=str(cause))
    if isinstance(cause, httpx.TimeoutException):
        reason = f"the RDAP server did not answer in time ({type(cause).__name__})"
        return Lookup(WhoisStatus.ERROR, error=reason)
    if isinstance(cause, httpx.HTTPError):
        return Lookup(WhoisStatus.ERROR, error=f"the RDAP server could not be reached: {cause}")
    if error.status_code:
        return Lookup(WhoisStatus.ERROR, error=f"the RDAP server answered HTTP {error.status_code}")
    return Lookup(WhoisStatus.ERROR, error=f"the RDAP answer could not be read: {str(error)[:200]}")


def _registrar_note(trace: Trace) -> str | None:
    """Why the registrar's answer is missing, when the registry answered but the `related` link did not."""
    later = trace.exchanges[1:]
    failed = [e for e in later if e.status != 200]
    if not failed or any(e.status == 200 for e in later):
        return None
    exchange = failed[-1]
    reason = exchange.error or f"HTTP {exchange.status}"
    return f"the registrar's RDAP service ({exchange.url}) did not answer: {reason}; registry data only"


async def lookup(domain: str, client: httpx.AsyncClient) -> Lookup:
    """Look the domain up (A-label name); whoisit's bootstrap must be loaded (`bootstrap.ensure_loaded`)."""
    trace = Trace()
    token = current_trace.set(trace)
    try:
        parsed = await asyncio.wait_for(
            whoisit.domain_async(domain, async_client=client, follow_related=True),
            get_settings().rdap_lookup_deadline_seconds,
        )
    except UnsupportedError:
        return Lookup(WhoisStatus.UNSUPPORTED_TLD, error="no RDAP service is known for this TLD")
    except ResourceDoesNotExist:
        return Lookup(WhoisStatus.NOT_FOUND, error="the registry has no such domain (RDAP 404)")
    except QueryError as error:
        return _failure(error, trace)
    except TimeoutError:
        deadline = get_settings().rdap_lookup_deadline_seconds
        return Lookup(WhoisStatus.ERROR, error=f"the lookup did not finish within {deadline:g} s")
    except (WhoisItError, ValueError, TypeError, KeyError, AttributeError) as error:
        return Lookup(WhoisStatus.ERROR, error=f"the RDAP answer could not be read: {str(error)[:200]}")
    finally:
        current_trace.reset(token)
    try:
        record = record_from_rdap(domain, parsed, trace.answered())
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        return Lookup(WhoisStatus.ERROR, error=f"the RDAP answer could not be read: {str(error)[:200]}")
    return Lookup(WhoisStatus.OK, record=record, error=_registrar_note(trace))
