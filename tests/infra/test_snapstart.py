"""SnapStart for the API functions: published versions with SnapStart on, an alias API Gateway invokes, and
every other function left as it was (docs/architecture.md, Decisions)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from aws_cdk.assertions import Match

from dmarcwatch.api.registry import FUNCTION_GROUPS, route_specs
from infra.constructs.functions import API_ALIAS
from tests.infra.test_stack import _logical_id

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def test_api_functions_snapshot_their_published_versions(synth: Synth) -> None:
    functions = synth.stack.functions
    api_ids = {_logical_id(synth, f) for f in functions.api_functions.values()}
    assert len(api_ids) == len(FUNCTION_GROUPS)
    for function in functions.all_functions:
        logical_id = _logical_id(synth, function)
        props = synth.resources[logical_id]["Properties"]
        if logical_id in api_ids:
            assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}, logical_id
        else:
            assert "SnapStart" not in props, logical_id


def test_api_gateway_invokes_each_api_functions_alias(synth: Synth) -> None:
    functions = synth.stack.functions
    aliases = synth.of_type("AWS::Lambda::Alias")
    versions = synth.of_type("AWS::Lambda::Version")
    for group in FUNCTION_GROUPS:
        function_id = _logical_id(synth, functions.api_functions[group.name])
        alias_id = _logical_id(synth, functions.api_aliases[group.name])
        alias = aliases[alias_id]["Properties"]
        assert alias["Name"] == API_ALIAS
        assert alias["FunctionName"] == {"Ref": function_id}
        version_id = alias["FunctionVersion"]["Fn::GetAtt"][0]
        assert versions[version_id]["Properties"]["FunctionName"] == {"Ref": function_id}
        # Replaced versions go, with their snapshots (no caching charge for versions nothing invokes).
        assert versions[version_id]["DeletionPolicy"] == "Delete"

        # Every method of the group proxies to the alias, none to the function itself, and the alias alone
        # may be invoked by the API.
        integrations = [
            json.dumps(method["Properties"].get("Integration", {}))
            for method in synth.of_type("AWS::ApiGateway::Method").values()
        ]
        routes = [spec for spec in route_specs() if spec.group == group.name]
        assert sum(alias_id in integration for integration in integrations) == len(routes), group.name
        assert not any(f'"{function_id}"' in integration for integration in integrations), group.name
        synth.template.has_resource_properties(
            "AWS::Lambda::Permission",
            {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": alias_id},
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": Match.any_value(),
            },
        )


def test_only_api_functions_are_published(synth: Synth) -> None:
    """The other functions are invoked unqualified ($LATEST): no versions of theirs to pay for."""
    functions = synth.stack.functions
    api_ids = {_logical_id(synth, f) for f in functions.api_functions.values()}
    published = {
        version["Properties"]["FunctionName"]["Ref"]
        for version in synth.of_type("AWS::Lambda::Version").values()
    }
    assert published == api_ids
