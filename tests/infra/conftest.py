"""Synthesize the CDK app once per test session; every infra test asserts on that one template."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # `infra` is a package at the repository root

# jsii prints a banner on stderr for old Node versions; the first name is for "deprecated", the second
# (a list of major versions) for "end of life".
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

# Context the synthesized app gets: a non-default reports domain shows that context reaches the functions.
CONTEXT = {"reportsDomain": "reports.dmarcwatch.test"}


@dataclass(frozen=True)
class Synth:
    app: Any  # aws_cdk.App
    stack: Any  # infra.stack.DmarcwatchStack
    template: Any  # aws_cdk.assertions.Template
    resources: dict[str, dict[str, Any]]
    context: dict[str, str]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from aws_cdk.assertions import Template

    from infra.app import build_app

    # The template does not depend on the layer's content, so the tests do not need `make layer`: a
    # placeholder layer keeps them hermetic and fast (no 50 MB asset to copy and hash).
    deps_layer = tmp_path_factory.mktemp("deps-layer")
    (deps_layer / "python").mkdir()
    (deps_layer / "python" / "placeholder.py").write_text("")

    app, stack = build_app(
        CONTEXT, nag=False, outdir=str(tmp_path_factory.mktemp("cdk.out")), deps_layer_dir=deps_layer
    )
    template = Template.from_stack(stack)
    resources = template.to_json()["Resources"]
    return Synth(app=app, stack=stack, template=template, resources=resources, context=CONTEXT)
