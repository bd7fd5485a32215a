"""API Gateway usage-plan keys for accounts (admin CLI). The plan -> usage plan map is in SSM."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from dmarcwatch.config import get_settings
from dmarcwatch.ids import random_base62
from dmarcwatch.store import aws


def usage_plan_ids() -> dict[str, str] | None:
    """{"free": id, ...} as written by the CDK stack (or the local bootstrap); None if not deployed."""
    try:
        value = aws.client("ssm").get_parameter(Name=get_settings().usage_plans_parameter)["Parameter"][
            "Value"
        ]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise
    plans = json.loads(value)
    return {str(k): str(v) for k, v in plans.items()}


def publish_usage_plan_ids(plans: dict[str, str]) -> None:
    aws.client("ssm").put_parameter(
        Name=get_settings().usage_plans_parameter, Value=json.dumps(plans), Type="String", Overwrite=True
    )


def create_usage_plan(name: str, rate_per_second: float, burst: int, per_day: int | None) -> str:
    kwargs: dict[str, object] = {
        "name": name,
        "throttle": {"rateLimit": rate_per_second, "burstLimit": burst},
    }
    if per_day is not None:
        kwargs["quota"] = {"limit": per_day, "period": "DAY"}
    plan_id: str = aws.client("apigateway").create_usage_plan(**kwargs)["id"]
    return plan_id


def create_account_key(account_id: str, usage_plan_id: str) -> tuple[str, str]:
    """Create the account's gateway key in its plan's usage plan; returns (key id, key value)."""
    client = aws.client("apigateway")
    created = client.create_api_key(
        name=f"dmarcwatch-{account_id}",
        value=random_base62(40),
        enabled=True,
        tags={"account_id": account_id},
    )
    client.create_usage_plan_key(usagePlanId=usage_plan_id, keyId=created["id"], keyType="API_KEY")
    return str(created["id"]), str(created["value"])


def move_account_key(key_id: str, from_plan_id: str, to_plan_id: str) -> None:
    """Attach the account's gateway key to another usage plan (a key sits in one plan of a stage)."""
    client = aws.client("apigateway")
    client.create_usage_plan_key(usagePlanId=to_plan_id, keyId=key_id, keyType="API_KEY")
    try:
        client.delete_usage_plan_key(usagePlanId=from_plan_id, keyId=key_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NotFoundException":
            raise
