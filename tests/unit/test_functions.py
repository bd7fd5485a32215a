"""Every function folder is a thin handler that imports cleanly; the authorizer loads no web framework."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmarcwatch.api.registry import FUNCTION_GROUPS, SCHEDULED_FUNCTIONS, WORKER_FUNCTIONS, FunctionGroup

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_DIRS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/handler.py"))


def test_every_api_group_has_exactly_one_function_folder() -> None:
    expected = {group.function_dir for group in FUNCTION_GROUPS} | {"authorizer"}
    expected |= {worker.function_dir for worker in (*WORKER_FUNCTIONS, *SCHEDULED_FUNCTIONS)}
    assert set(FUNCTION_DIRS) == expected


@pytest.mark.parametrize("function_dir", FUNCTION_DIRS)
def test_handlers_stay_thin(function_dir: str) -> None:
    source = (ROOT / "functions" / function_dir / "handler.py").read_text()
    lines = [line.strip() for line in source.splitlines()]
    code_lines = [line for line in lines if line and not line.startswith(("#", '"""'))]
    assert len(code_lines) <= 5, "logic belongs in the shared package, not in functions/"


def loaded_modules(module: str, **environment: str) -> set[str]:
    probe = (
        f"import sys, json, importlib; importlib.import_module({module!r}); print(json.dumps([*sys.modules]))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **environment},
    )
    out = run.stdout
    return set(json.loads(out))


def test_the_authorizer_imports_no_web_framework() -> None:
    modules = loaded_modules("functions.authorizer.handler")
    assert not {m.split(".")[0] for m in modules} & {"fastapi", "starlette", "mangum", "uvicorn", "httpx"}
    # Nor Powertools' event classes (auth/gateway_policy.py).
    assert "aws_lambda_powertools.utilities.data_classes" not in modules


def test_worker_handlers_re_export_the_registered_handler() -> None:
    import importlib

    for worker in (*WORKER_FUNCTIONS, *SCHEDULED_FUNCTIONS):
        module, _, attribute = worker.handler.partition(":")
        registered = getattr(importlib.import_module(module), attribute)
        assert importlib.import_module(f"functions.{worker.function_dir}.handler").handler is registered


# --- cold start (bench/cold_start.py measures it; these keep what it relies on) ---------------------------

# As in Lambda, where Powertools traces: importing a handler must still not import the X-Ray SDK.
IN_LAMBDA = {
    "LAMBDA_TASK_ROOT": str(ROOT),
    "AWS_LAMBDA_FUNCTION_NAME": "test",
    "POWERTOOLS_TRACE_DISABLED": "",
}
# Imported by the first use, never by a handler's import.
LAZY = ("aws_xray_sdk", "pydantic_settings", "aws_lambda_powertools.utilities.batch")


@pytest.mark.parametrize("function_dir", FUNCTION_DIRS)
def test_handlers_import_no_tracing_sdk_settings_library_or_batch_utilities(function_dir: str) -> None:
    modules = loaded_modules(f"functions.{function_dir}.handler", **IN_LAMBDA)
    assert not {m for m in modules if m.startswith(LAZY)}


@pytest.mark.parametrize("group", FUNCTION_GROUPS, ids=lambda g: g.name)
def test_an_api_function_imports_only_its_own_routers(group: FunctionGroup) -> None:
    modules = loaded_modules(f"functions.{group.function_dir}.handler")
    routers = {m.rpartition(".")[2] for m in modules if m.startswith("dmarcwatch.api.routers.")}
    assert routers == set(group.router_modules)


def test_the_reports_function_imports_neither_the_ingest_pipeline_nor_the_report_parser() -> None:
    modules = loaded_modules("functions.api_reports.handler")
    assert "dmarcwatch.ingest.pipeline" not in modules
    assert not {m for m in modules if m == "dmarcwatch.reports" or m.startswith("dmarcwatch.reports.")}
