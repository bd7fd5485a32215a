"""The API Gateway TOKEN authorizer: key -> allow policy with tenant context and usage identifier.

The policy allows every route of the API because API Gateway caches it per token for all methods.
The context names the key's scope; the app enforces it on every request from its own strongly
consistent read of the key (a read key gets 403 on anything but GET, only admin keys manage keys), so
the policy stays the same for every method of a token and the authorizer cache cannot widen a scope.
An unknown or revoked key raises `Unauthorized` (API Gateway's 401, shaped as invalid_api_key). An
expired key gets a Deny policy whose context names the error, so the ACCESS_DENIED gateway response
answers key_expired. A lapsed subscription is allowed through: the app answers subscription_required.
"""

from __future__ import annotations

from typing import Any

from dmarcwatch.auth.gateway_policy import TokenRequest, stage_policy
from dmarcwatch.auth.principal import authenticate, bearer_token
from dmarcwatch.errors import ApiError, ErrorCode


class Unauthorized(Exception):
    """API Gateway maps exactly the message 'Unauthorized' to a 401."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def authorize(event: TokenRequest) -> dict[str, Any]:
    try:
        principal = authenticate(bearer_token(event.authorization_token), check_subscription=False)
    except ApiError as error:
        if error.code != ErrorCode.KEY_EXPIRED:
            raise Unauthorized() from error
        return stage_policy(
            event.method_arn,
            "expired-key",
            allow=False,
            context={"error_code": error.code.value, "error_message": error.message},
        )
    return stage_policy(
        event.method_arn,
        principal.key.id,
        allow=True,
        context={
            "account_id": principal.account.id,
            "environment": principal.key.environment.value,
            "key_id": principal.key.id,
            "scope": principal.key.scope.value,
            "plan": principal.account.plan.value,
        },
        usage_identifier_key=principal.account.gateway_key_value,
    )
