"""Every function folder is a thin handler that imports cleanly; the authorizer loads no web framework."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dmarcwatch.api.registry import FUNCTION_GROUPS, SCHEDULED_FUNCTIONS, WORKER_FUNCTIONS

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


def loaded_modules(module: str) -> set[str]:
    probe = (
        f"import sys, json, importlib; importlib.import_module({module!r}); print(json.dumps([*sys.modules]))"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    out = run.stdout
    return set(json.loads(out))


def test_the_authorizer_imports_no_web_framework() -> None:
    modules = loaded_modules("functions.authorizer.handler")
    assert not {m.split(".")[0] for m in modules} & {"fastapi", "starlette", "mangum", "uvicorn", "httpx"}


def test_worker_handlers_re_export_the_registered_handler() -> None:
    import importlib

    for worker in (*WORKER_FUNCTIONS, *SCHEDULED_FUNCTIONS):
        module, _, attribute = worker.handler.partition(":")
        registered = getattr(importlib.import_module(module), attribute)
        assert importlib.import_module(f"functions.{worker.function_dir}.handler").handler is registered
