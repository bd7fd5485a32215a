"""Custom resource (CDK provider framework): the SES receipt rule set the stack's receipt rule joins.

Only one receipt rule set can be active per account and region, and it may be the operator's: the stack
must never replace or deactivate it. So:

- Create: the region's active rule set, when there is one. When none is active (SES receives nothing in
  the region), the set named by the `RuleSetName` property is created (unless it exists) and activated.
- Update: the same, except that the set this resource resolved before is kept while it is still active.
- Delete: a set that was found active is left alone. A set this resource created is deleted only if it
  holds no rule any more (the stack's rule goes first: it depends on this resource), after deactivating it
  if it is still the active one (an empty set receives nothing either). Anything else stays in place.

A stack deployed before the modes existed has its own set, `dmarcwatch-<stage>`, active. Joining it would
be undone by the same update (the old resources' removal deactivates and deletes that set), so when the
active set is the one named by `LegacyRuleSetName` the resource fails: CloudFormation rolls the update back
and the operator deploys with `sesRuleSetMode=dedicated` instead (docs/deploy.md).

The physical resource id says which case it is (`created:<name>` or `found:<name>`); the data attribute
`RuleSetName` is the set's name. Stdlib and boto3 only (the Lambda runtime's).
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

CREATED = "created:"
FOUND = "found:"


def on_event(event: dict[str, Any], context: Any = None, ses: Any = None) -> dict[str, Any]:
    ses = ses or boto3.client("ses")
    request_type = event["RequestType"]
    if request_type == "Delete":
        return delete(ses, event["PhysicalResourceId"])
    properties = event["ResourceProperties"]
    name = str(properties["RuleSetName"])
    previous = event.get("PhysicalResourceId") if request_type == "Update" else None
    physical_id = resolve(ses, name, previous, legacy=properties.get("LegacyRuleSetName"))
    return {"PhysicalResourceId": physical_id, "Data": {"RuleSetName": rule_set_name(physical_id)}}


def rule_set_name(physical_id: str) -> str:
    return physical_id.split(":", 1)[1]


def active_rule_set(ses: Any) -> str | None:
    metadata = ses.describe_active_receipt_rule_set().get("Metadata") or {}
    name = metadata.get("Name")
    return str(name) if name else None


class LegacyRuleSetActive(RuntimeError):
    pass


def resolve(ses: Any, name: str, previous: str | None = None, *, legacy: str | None = None) -> str:
    active = active_rule_set(ses)
    if legacy and active == legacy:
        raise LegacyRuleSetActive(
            f"the active SES receipt rule set is {legacy}, this stack's own set from before sesRuleSetMode "
            "existed; deploy with -c sesRuleSetMode=dedicated to keep it (see docs/deploy.md)"
        )
    if previous and previous.startswith((CREATED, FOUND)) and rule_set_name(previous) == active:
        return previous
    if active:
        return f"{FOUND}{active}"
    try:
        ses.create_receipt_rule_set(RuleSetName=name)
        physical_id = f"{CREATED}{name}"
    except ClientError as error:
        if _code(error) != "AlreadyExists":
            raise
        # Not ours: never deleted by this resource.
        physical_id = f"{FOUND}{name}"
    ses.set_active_receipt_rule_set(RuleSetName=name)
    return physical_id


def delete(ses: Any, physical_id: str) -> dict[str, Any]:
    if physical_id.startswith(CREATED):
        name = rule_set_name(physical_id)
        try:
            rules = ses.describe_receipt_rule_set(RuleSetName=name).get("Rules") or []
        except ClientError as error:
            if _code(error) != "RuleSetDoesNotExist":
                raise
            return {"PhysicalResourceId": physical_id}
        if not rules:
            if active_rule_set(ses) == name:
                ses.set_active_receipt_rule_set()  # no name: no set is active
            ses.delete_receipt_rule_set(RuleSetName=name)
    return {"PhysicalResourceId": physical_id}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
