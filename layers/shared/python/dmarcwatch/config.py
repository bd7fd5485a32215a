"""Every setting of the service, read once from `DMARCWATCH_*` environment variables.

The CDK stack sets these on each Lambda; the local stack sets them for its processes. Defaults are the
embedded local ones, so a bare checkout runs without configuration.

A plain pydantic model reads the environment (names compared case-insensitively, values validated like any
input): pydantic-settings would do the same for this flat model, but importing it costs every Lambda
about a third of importing boto3 on a cold start.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

ENV_PREFIX = "DMARCWATCH_"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseModel):
    """Values passed to the constructor win over `DMARCWATCH_<FIELD>` variables, which win over defaults."""

    model_config = ConfigDict(extra="ignore", validate_default=True)

    stage: str = "local"
    region: str = "us-east-1"
    # Points boto3 at the embedded AWS (moto server) of the local stack; unset in AWS.
    aws_endpoint_url: str | None = None

    table_name: str = "dmarcwatch"
    raw_bucket: str = "dmarcwatch-raw"
    exports_bucket: str = "dmarcwatch-exports"
    ingest_queue_url: str | None = None
    scan_queue_url: str | None = None
    export_queue_url: str | None = None
    whois_queue_url: str | None = None
    # The local scheduler's period for scheduled functions (AWS uses each function's EventBridge rate).
    scheduler_interval_seconds: float = 60.0
    # Transactions of one report's statistics in flight at once (DynamoDB takes many; the local stack's
    # single emulator process is better served by one, so the API's calls are not queued behind them).
    aggregate_parallelism: int = Field(default=8, ge=1, le=32)

    reports_domain: str = "reports.dmarcwatch.local"
    # HMAC key for pagination cursors. The local default is fine for a laptop; the CDK stack injects a
    # generated secret.
    cursor_secret: SecretStr = SecretStr("local-development-cursor-secret-change-me")
    # In AWS the secret lives in Secrets Manager; the stack passes its ARN and the value is read once.
    cursor_secret_arn: str | None = None
    # SSM parameter holding {"free": "<usage plan id>", ...}; written by the CDK stack and the local
    # bootstrap, read by the admin CLI to attach new accounts' gateway keys.
    usage_plans_parameter: str = "/dmarcwatch/usage-plans"

    # Failed authentications allowed per source IP per minute before 429.
    unauthenticated_per_minute: int = 30

    # Comma-separated in the environment.
    dns_nameservers: list[str] = Field(default_factory=list)
    dns_port: int = 53
    dns_timeout: float = 2.0

    # Operator-supplied MaxMind-format files (`dmarcwatch.ipdata`, docs/geo.md): the ASN file
    # (GeoLite2-ASN layout) gives sources and servers their AS number and name, the city file (GeoLite2-City
    # layout) their region, city and coordinates. Optional: without them those fields are null.
    geoip_asn_file: str | None = None
    geoip_city_file: str | None = None

    # WHOIS over RDAP (`dmarcwatch.whois`): IANA's bootstrap of the registries' RDAP services (fetched at
    # most once a week, kept in the raw bucket), the timeout of one request and of a whole lookup (registry
    # and registrar), requests per RDAP server per minute shared by every worker, and a PEM bundle of extra
    # CAs to trust (tests, private deployments; the system's CAs otherwise).
    rdap_bootstrap_url: str = "https://data.iana.org/rdap/dns.json"
    rdap_bootstrap_max_age_days: int = Field(default=7, ge=1, le=30)
    rdap_timeout_seconds: float = Field(default=8.0, gt=0, le=30)
    rdap_lookup_deadline_seconds: float = Field(default=20.0, gt=0, le=60)
    rdap_requests_per_host_per_minute: int = Field(default=20, ge=1, le=600)
    rdap_ca_bundle: str | None = None

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    smtp_port: int = 2525
    aws_port: int = 5000

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        environment = {
            name[len(ENV_PREFIX) :].lower(): value
            for name, value in os.environ.items()
            if name.upper().startswith(ENV_PREFIX)
        }
        return {**{k: v for k, v in environment.items() if k in cls.model_fields}, **values}

    @field_validator("dns_nameservers", mode="before")
    @classmethod
    def _nameservers_from_csv(cls, value: object) -> object:
        return _split_csv(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
