"""The plans, defined once: the app-level limiter, account responses and the CDK usage plans read them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class PlanName(StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: PlanName
    requests_per_minute: int
    # None means unlimited.
    requests_per_day: int | None
    domains_allowed: int
    scan_interval_hours: int
    # Scans the tenant may ask for in an hour (adding or activating domains, refresh, scan now; not the
    # scheduled rescans): twice the domain allowance (a bulk add of every domain, and as much again), at
    # least 20 and at most 1,000. Beyond it a bulk add waits for the next hour's schedule and an
    # on-demand scan is 429 quota_exceeded (`scanning.queueing`).
    requested_scans_per_hour: int
    api_keys_per_environment: int = 3


PLANS: dict[PlanName, Plan] = {
    PlanName.FREE: Plan(
        name=PlanName.FREE,
        requests_per_minute=60,
        requests_per_day=1_000,
        domains_allowed=5,
        scan_interval_hours=24,
        requested_scans_per_hour=20,
    ),
    PlanName.PRO: Plan(
        name=PlanName.PRO,
        requests_per_minute=300,
        requests_per_day=10_000,
        domains_allowed=250,
        scan_interval_hours=6,
        requested_scans_per_hour=500,
    ),
    PlanName.ENTERPRISE: Plan(
        name=PlanName.ENTERPRISE,
        requests_per_minute=1_000,
        requests_per_day=None,
        domains_allowed=10_000,
        scan_interval_hours=1,
        requested_scans_per_hour=1_000,
    ),
}


def get_plan(name: str | PlanName) -> Plan:
    return PLANS[PlanName(name)]


class GatewayLimits(BaseModel):
    """The API Gateway usage plan for a plan: steady rate, burst and daily quota."""

    rate_per_second: float
    burst: int
    quota_per_day: int | None


def gateway_limits(plan: Plan) -> GatewayLimits:
    # API Gateway throttles per second; the plan is defined per minute. A burst of ten seconds' worth
    # (at least 10) lets a client page through a list quickly without exceeding the minute budget.
    rate = plan.requests_per_minute / 60
    return GatewayLimits(
        rate_per_second=rate, burst=max(10, round(rate * 10)), quota_per_day=plan.requests_per_day
    )
