"""What a TOKEN authorizer reads from API Gateway and answers it: the token and method ARN in, a policy for
every method of the calling API's stage out.

The same shapes as Powertools' `APIGatewayAuthorizerTokenEvent` and `APIGatewayAuthorizerResponse`
(`allow_all_routes`/`deny_all_routes`), built here because importing those loads every one of Powertools'
event data classes, a cost the authorizer (in front of every authenticated request) would pay on each cold
start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class TokenRequest(Protocol):
    @property
    def authorization_token(self) -> str: ...

    @property
    def method_arn(self) -> str: ...


@dataclass(frozen=True)
class TokenEvent:
    """The TOKEN authorizer's event: `{"type": "TOKEN", "authorizationToken": ..., "methodArn": ...}`."""

    authorization_token: str
    method_arn: str

    @classmethod
    def of(cls, event: dict[str, Any]) -> TokenEvent:
        return cls(authorization_token=event["authorizationToken"], method_arn=event["methodArn"])


def stage_methods_arn(method_arn: str) -> str:
    """Every method of the stage of `method_arn` (`arn:<partition>:execute-api:<region>:<account>:<api
    id>/<stage>/<verb>/<path>`): the same ARN with `*/*` after the stage."""
    arn_parts = method_arn.split(":")
    api_id, stage = arn_parts[5].split("/")[:2]
    return ":".join([*arn_parts[:5], f"{api_id}/{stage}/*/*"])


def stage_policy(
    method_arn: str,
    principal_id: str,
    *,
    allow: bool,
    context: dict[str, str],
    usage_identifier_key: str | None = None,
) -> dict[str, Any]:
    """The authorizer's answer allowing (or denying) every method of the stage."""
    statement = {
        "Action": "execute-api:Invoke",
        "Effect": "Allow" if allow else "Deny",
        "Resource": [stage_methods_arn(method_arn)],
    }
    response: dict[str, Any] = {
        "principalId": principal_id,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
    }
    if usage_identifier_key:
        response["usageIdentifierKey"] = usage_identifier_key
    if context:
        response["context"] = context
    return response
