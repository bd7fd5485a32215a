"""The authorizer's policy is the one Powertools' APIGatewayAuthorizerResponse builds (allow or deny every
method of the stage), without importing Powertools' event classes."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)

from dmarcwatch.auth.gateway_policy import TokenEvent, stage_policy

METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/POST/domains/dom_1/scan"


@pytest.mark.parametrize("allow", [True, False])
@pytest.mark.parametrize("usage_identifier_key", ["gateway-key", None])
def test_the_policy_matches_powertools(allow: bool, usage_identifier_key: str | None) -> None:
    context = {"key_id": "key_1", "scope": "read"}
    expected = APIGatewayAuthorizerResponse.from_route_arn(
        METHOD_ARN, principal_id="key_1", context=context, usage_identifier_key=usage_identifier_key
    )
    if allow:
        expected.allow_all_routes()
    else:
        expected.deny_all_routes()
    policy = stage_policy(
        METHOD_ARN, "key_1", allow=allow, context=context, usage_identifier_key=usage_identifier_key
    )
    assert policy == expected.asdict()


def test_the_event_reads_like_powertools() -> None:
    event = {"type": "TOKEN", "authorizationToken": "Bearer dmw_live_x", "methodArn": METHOD_ARN}
    ours, theirs = TokenEvent.of(event), APIGatewayAuthorizerTokenEvent(event)
    assert (ours.authorization_token, ours.method_arn) == (theirs.authorization_token, theirs.method_arn)
