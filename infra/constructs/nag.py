"""Acknowledging cdk-nag findings (cdk-nag v3 reads CDK's native `Validations` acknowledgments).

cdk-nag v3 has no `NagSuppressions`: a finding is acknowledged with `Validations.of(construct)`, which
covers the construct and everything below it. Findings that carry a detail (IAM5 wildcards) must be
acknowledged one by one as `AwsSolutions-IAM5[Resource::...]`; there is no prefix match.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge `rule_id` on `scope` and its children; `reason` must say why it is acceptable."""
    if len(reason) < 20:
        raise ValueError(f"cdk-nag acknowledgment {rule_id} needs a concrete reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
