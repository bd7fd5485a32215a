"""Withdrawing a domain's proof of ownership (review L1: a verification used to last for ever).

The proof is `verified_at` on the domain item (`store.domains.mark_verified` sets it). Scans of verified
domains look for the token again (`dns.ownership`) and record when they last saw it
(`verification_checked_at`, written with the scan's summary fields); when the DNS says authoritatively
that the token is gone, the proof is removed here. The removal is conditional on the proof being the one
that was checked, so a verification made meanwhile is never undone.
"""

from __future__ import annotations

from datetime import datetime

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.models import Tenant
from dmarcwatch.store.db import is_conditional_failure, key, table, ts


def drop_verification(tenant: Tenant, name: str, verified_at: datetime) -> bool:
    """Remove the proof of ownership granted at `verified_at`; False if it is not that one any more."""
    try:
        table().update_item(
            Key=key(t.tenant_pk(tenant.account_id, tenant.environment), t.domain_sk(name)),
            UpdateExpression="REMOVE verified_at, verification_checked_at",
            ConditionExpression="verified_at = :at",
            ExpressionAttributeValues={":at": ts(verified_at)},
        )
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise
    return True
