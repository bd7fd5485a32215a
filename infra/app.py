"""CDK app entry: `cdk synth` / `cdk deploy` run `.venv/bin/python infra/app.py` (see cdk.json).

Context (cdk.json or `-c key=value`):
  stage          deployment name, default "prod" (DMARCWATCH_STAGE, resource names)
  reportsDomain  domain receiving DMARC reports, default "reports.example.com"
  alarmEmail     optional address subscribed to the alarm topic
  wafRateLimit   requests per client IP per 5 minutes before WAF blocks, default 2000
  wafUnauthenticatedRateLimit
                 requests without an Authorization header per client IP per 5 minutes (public routes
                 exempt) before WAF blocks, default 100
  scannerConcurrency
                 concurrent scanner executions (reserved concurrency), default 10

cdk-nag's AwsSolutions pack runs as a CDK validation plugin (cdk-nag v3): synth fails on any finding that
is not acknowledged with a reason (see infra/constructs/nag.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, Python puts infra/ first on sys.path, where infra/constructs would shadow the
    # `constructs` library. Put the repository root there instead, so `infra` is a package.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import os
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.constructs.api import DEFAULT_STAGE
from infra.constructs.waf import DEFAULT_RATE_LIMIT_PER_5_MIN, DEFAULT_UNAUTHENTICATED_RATE_LIMIT_PER_5_MIN
from infra.stack import DEFAULT_REPORTS_DOMAIN, DmarcwatchStack


def build_app(
    context: Mapping[str, Any] | None = None,
    *,
    nag: bool = True,
    outdir: str | None = None,
    **stack_kwargs: Any,
) -> tuple[cdk.App, DmarcwatchStack]:
    """The app with its one stack. `nag=False` leaves the cdk-nag plugin out (tests run the pack
    themselves to assert on its findings); `stack_kwargs` go to DmarcwatchStack (tests)."""
    app = cdk.App(context=dict(context or {}), outdir=outdir)
    stage = str(app.node.try_get_context("stage") or DEFAULT_STAGE)
    reports_domain = str(app.node.try_get_context("reportsDomain") or DEFAULT_REPORTS_DOMAIN)
    alarm_email = app.node.try_get_context("alarmEmail") or None
    waf_rate_limit = int(app.node.try_get_context("wafRateLimit") or DEFAULT_RATE_LIMIT_PER_5_MIN)
    waf_unauthenticated_rate_limit = int(
        app.node.try_get_context("wafUnauthenticatedRateLimit")
        or DEFAULT_UNAUTHENTICATED_RATE_LIMIT_PER_5_MIN
    )

    stack = DmarcwatchStack(
        app,
        f"Dmarcwatch-{stage}",
        stage=stage,
        reports_domain=reports_domain,
        alarm_email=alarm_email,
        waf_rate_limit=waf_rate_limit,
        waf_unauthenticated_rate_limit=waf_unauthenticated_rate_limit,
        description=f"dmarcwatch ({stage}): DMARC report and DNS monitoring API",
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
        ),
        **stack_kwargs,
    )
    cdk.Tags.of(app).add("project", "dmarcwatch")
    cdk.Tags.of(app).add("stage", stage)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, stack


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
