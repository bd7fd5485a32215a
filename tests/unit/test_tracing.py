"""H3: no Tracer decorator in the Lambda package records a return value or an exception in X-Ray.

The stack also sets POWERTOOLS_TRACER_CAPTURE_RESPONSE/ERROR=false for every function
(tests/infra/test_stack.py); the decorators say the same explicitly, so a function deployed some other
way (or an environment variable dropped by mistake) still keeps API keys, presigned URLs and report
contents out of traces.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = [REPO_ROOT / "layers" / "shared" / "python" / "dmarcwatch", REPO_ROOT / "functions"]
TRACER_DECORATORS = {"capture_lambda_handler", "capture_method"}
REQUIRED = {"capture_response": False, "capture_error": False}

# Call sites in modules owned by other work in progress (issue 14 changes only the handler modules). Each
# entry is expected to fail until its decorator passes REQUIRED; then delete the entry.
PENDING: dict[str, str] = {}


@dataclass(frozen=True)
class Use:
    path: str
    line: int
    decorator: ast.expr

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


def _relative(path: Path) -> str:
    for base in PACKAGE_DIRS:
        if path.is_relative_to(base):
            return f"{base.name}/{path.relative_to(base).as_posix()}"
    raise AssertionError(path)


def _name(node: ast.expr) -> str | None:
    target = node.func if isinstance(node, ast.Call) else node
    return target.attr if isinstance(target, ast.Attribute) else None


def tracer_uses() -> list[Use]:
    uses: list[Use] = []
    for base in PACKAGE_DIRS:
        for path in sorted(base.rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    for decorator in node.decorator_list:
                        if _name(decorator) in TRACER_DECORATORS:
                            uses.append(Use(_relative(path), decorator.lineno, decorator))
    return uses


def _keywords(decorator: ast.expr) -> dict[str, object]:
    if not isinstance(decorator, ast.Call):
        return {}  # bare @tracer.capture_lambda_handler: Powertools' defaults (capture everything)
    found: dict[str, object] = {}
    for keyword in decorator.keywords:
        if keyword.arg is not None and isinstance(keyword.value, ast.Constant):
            found[keyword.arg] = keyword.value.value
    return found


USES = tracer_uses()


def test_the_walk_finds_the_handlers() -> None:
    paths = {use.path for use in USES}
    assert {
        "dmarcwatch/api/lambda_entry.py",
        "dmarcwatch/auth/authorizer_handler.py",
        "dmarcwatch/observability.py",
        "dmarcwatch/scanning/dispatcher.py",
    } <= paths
    assert set(PENDING) <= paths, "a PENDING entry names a module without a Tracer decorator: delete it"


@pytest.mark.parametrize(
    "use",
    [
        pytest.param(
            use,
            marks=pytest.mark.xfail(strict=True, reason=PENDING[use.path]) if use.path in PENDING else (),
        )
        for use in USES
    ],
    ids=str,
)
def test_tracer_decorator_records_no_response_and_no_error(use: Use) -> None:
    keywords = _keywords(use.decorator)
    assert {name: keywords.get(name) for name in REQUIRED} == REQUIRED, f"{use}: {ast.unparse(use.decorator)}"


def test_the_check_catches_a_bare_decorator() -> None:
    tree = ast.parse("@tracer.capture_lambda_handler\ndef handler(event, context): ...\n")
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    assert _keywords(function.decorator_list[0]) != REQUIRED
