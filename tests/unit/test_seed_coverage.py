"""docs/seed-coverage.md maps every endpoint and field of the five seeds; this keeps it from rotting.

- Every route a row marks served, renamed or deviates exists in `route_specs()`, and every field
  (`data.…`, `meta.…`), query parameter (`?name`), body field (`body.…`), error (`404 not_found`, `error.…`)
  and header named beside it exists in that route's OpenAPI operation.
- Every status is one of the legend's; a planned row names its issue.
- The summary table equals the counts of the sections below it.
- Every method and path a seed prints appears in that seed's section.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from dmarcwatch.api.openapi import openapi_document
from dmarcwatch.api.registry import route_specs
from dmarcwatch.auth.ratelimit import RateStatus
from dmarcwatch.errors import STATUS_BY_CODE, ErrorCode

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "seed-coverage.md"
SEEDS = ROOT.parent / "shared" / "seeds"
SEED_FILES = {
    "000": "000_8438c35dfbb4d9cb.txt",
    "001": "001_914cb918a4640eb5.txt",
    "002": "002_e5f0fc9f919fc98c.txt",
    "003": "003_71298f8cab62cf92.txt",
    "004": "004_8a44dc0b0b203cee.txt",
}

ROW_STATUSES = ("served", "renamed", "deviates", "planned", "not planned")
CHECKED = frozenset({"served", "renamed", "deviates"})
ITEM_STATUSES = ("covered", "deviating", "planned", "not planned")
PLANNED = re.compile(r"^planned: issues? \d+( and \d+)?$")

ROUTE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (/v1/\S*)$")
ERROR = re.compile(r"^(\d{3}) ([a-z_]+)$")
HEADER = re.compile(r"^[A-Z][A-Za-z]*(-[A-Za-z]+)+$")
SEED_ROUTE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) ?(/[\w./{}:-]*)")
HEADERS = frozenset(RateStatus(1, 1, 1, 1, 1).headers()) | {
    "X-Request-Id",
    "Retry-After",
    "ETag",
    "If-None-Match",
}


@dataclass
class Row:
    seed: str
    heading: str
    cells: list[str]
    default_route: str | None

    @property
    def status(self) -> str:
        return self.cells[2].strip()

    @property
    def kind(self) -> str:
        return "planned" if self.status.startswith("planned") else self.status

    def where(self) -> str:
        return f"seed {self.seed}, {self.heading!r}, row {self.cells[0].strip()!r}"


@dataclass
class Section:
    seed: str
    heading: str
    status: str | None
    rows: list[Row] = field(default_factory=list)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


def _ticks(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def _route_key(method: str, path: str) -> tuple[str, str]:
    """A route with its parameter names blanked: `{domain_id}` and `{id}` are the same place."""
    return method, re.sub(r"\{[^}]*\}", "{}", path.removeprefix("/v1") or "/")


@cache
def parsed() -> tuple[list[list[str]], list[Section]]:
    """The summary table's rows and the seed sections, in document order."""
    summary: list[list[str]] = []
    sections: list[Section] = []
    seed: str | None = None
    for line in DOC.read_text().splitlines():
        if found := re.match(r"^## Seed (\d{3})\b", line):
            seed = found.group(1)
        elif line.startswith("## "):
            seed = None
        elif line.startswith("### ") and seed:
            heading = line[4:]
            status = next((s for s in ITEM_STATUSES if heading.endswith(f"— {s}")), None)
            if heading.rsplit("— ", 1)[-1].startswith("planned"):
                status = "planned"
                assert PLANNED.match(heading.rsplit("— ", 1)[-1]), heading
            sections.append(Section(seed, heading, status))
        elif line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            cells = _cells(line)
            if cells[0] in ("Seed", "Seed item"):
                continue
            if seed is None:
                summary.append(cells)
                continue
            assert sections, f"a table before a ### heading in seed {seed}"
            assert sections[-1].seed == seed, f"a table before a ### heading in seed {seed}"
            section = sections[-1]
            routes = [t for t in _ticks(section.heading.rsplit("→", 1)[-1]) if ROUTE.match(t)]
            section.rows.append(Row(seed, section.heading, cells, routes[-1] if routes else None))
    return summary, sections


def all_rows() -> list[Row]:
    return [row for section in parsed()[1] for row in section.rows]


@cache
def operations() -> dict[tuple[str, str], dict[str, Any]]:
    document = openapi_document()
    found = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            found[_route_key(method.upper(), path)] = operation
    return found


@cache
def schemas() -> dict[str, Any]:
    found: dict[str, Any] = openapi_document()["components"]["schemas"]
    return found


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    if "$ref" in schema:
        return _branches(schemas()[schema["$ref"].rsplit("/", 1)[-1]])
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            return [b for part in schema[combinator] for b in _branches(part)]
    return [schema]


def has_path(schema: dict[str, Any], steps: list[str]) -> bool:
    """Whether `steps` (property names, and `[]` for an array's items) lead somewhere in `schema`."""
    if not steps:
        return True
    step, rest = steps[0], steps[1:]
    for branch in _branches(schema):
        if step == "[]":
            if branch.get("type") == "array" and has_path(branch.get("items", {}), rest):
                return True
            continue
        if step in branch.get("properties", {}) and has_path(branch["properties"][step], rest):
            return True
        extra = branch.get("additionalProperties")
        if isinstance(extra, dict) and extra and has_path(extra, rest):
            return True
    return False


def _steps(token: str) -> list[str]:
    return re.findall(r"\[\]|[^.\[\]]+", token)


def _success_schema(operation: dict[str, Any]) -> dict[str, Any]:
    """Every 2xx body of the operation, as one schema (POST /domains answers 201 or 200)."""
    bodies = [
        response["content"]["application/json"]["schema"]
        for status, response in operation["responses"].items()
        if status.startswith("2") and "application/json" in response.get("content", {})
    ]
    assert bodies, "no success response"
    return {"anyOf": bodies}


def problems_of(row: Row) -> list[str]:
    """What in the row's dmarcwatch cell the code does not have."""
    problems = []
    route = row.default_route
    named_a_route = route is not None
    for token in _ticks(row.cells[1]):
        if ROUTE.match(token):
            route, named_a_route = token, True
            continue
        named = token.startswith(("data", "meta", "body.", "error.", "?"))
        if not (named or ERROR.match(token) or HEADER.match(token)):
            continue  # a value (`none`, `dom_…`), not a name to check
        if HEADER.match(token):
            if token not in HEADERS:
                problems.append(f"header {token} is not one the API sends")
            continue
        if token.startswith("error."):
            if not has_path({"$ref": "#/components/schemas/ErrorEnvelope"}, _steps(token)):
                problems.append(f"{token} is not in the error envelope")
            continue
        if route is None:
            problems.append(f"{token} names no route (no route in the cell or the heading)")
            continue
        matched = ROUTE.match(route)
        operation = operations().get(_route_key(*matched.groups())) if matched else None
        if operation is None:
            continue  # reported below
        if error := ERROR.match(token):
            status, code = error.groups()
            if code not in {c.value for c in ErrorCode} or str(STATUS_BY_CODE[ErrorCode(code)]) != status:
                problems.append(f"{token} is not an error code with that status")
            elif status not in operation["responses"]:
                problems.append(f"{route} does not declare {status}")
        elif token.startswith("?"):
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            if token[1:] not in names:
                problems.append(f"{route} has no query parameter {token[1:]}")
        elif token.startswith("body."):
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            if not has_path(body.get("schema", {}), _steps(token)[1:]):
                problems.append(f"{route} has no body field {token[5:]}")
        elif not has_path(_success_schema(operation), _steps(token)):
            problems.append(f"{route} answers no {token}")
    for token in _ticks(row.cells[1]):
        if (found := ROUTE.match(token)) and _route_key(*found.groups()) not in served_routes():
            problems.append(f"{token} is not a route of the registry")
    if not named_a_route:
        problems.append("names no route")
    return problems


@cache
def served_routes() -> frozenset[tuple[str, str]]:
    return frozenset(_route_key(spec.method, spec.path) for spec in route_specs())


def test_every_seed_has_a_section_with_rows() -> None:
    _, sections = parsed()
    assert {s.seed for s in sections} == set(SEED_FILES)
    for seed, name in SEED_FILES.items():
        assert f"## Seed {seed}" in DOC.read_text()
        assert name in DOC.read_text()
    assert all(section.rows for section in sections), [s.heading for s in sections if not s.rows]


def test_rows_have_four_cells_and_a_known_status() -> None:
    for row in all_rows():
        assert len(row.cells) == 4, row.where()
        assert row.status in (*ROW_STATUSES[:3], "not planned") or PLANNED.match(row.status), row.where()


@pytest.mark.parametrize(
    "row", [r for r in all_rows() if r.kind in CHECKED], ids=lambda r: f"{r.seed}:{r.cells[0][:60]}"
)
def test_what_a_row_says_is_served_exists(row: Row) -> None:
    assert problems_of(row) == [], row.where()


def test_the_checks_catch_a_wrong_route_and_a_wrong_field() -> None:
    wrong = "`GET /v1/domains` `data[].no_such_field` `?nope` `409 conflict` `X-Nope` `GET /v1/nowhere`"
    assert len(problems_of(Row("000", "h", ["x", wrong, "served", ""], None))) == 5
    right = "`GET /v1/domains/{id}` `data.scan_result.result.mx[].host` `404 not_found` `ETag`"
    assert problems_of(Row("000", "h", ["x", right, "served", ""], None)) == []
    assert problems_of(Row("000", "h", ["x", "`data.id`", "served", ""], None)) == [
        "data.id names no route (no route in the cell or the heading)",
        "names no route",
    ]


def test_summary_matches_the_sections() -> None:
    summary, sections = parsed()
    assert [cells[0] for cells in summary] == [f"Seed {seed}" for seed in SEED_FILES] + ["All"]
    totals: Counter[str] = Counter()
    for cells in summary[:-1]:
        seed = cells[0].removeprefix("Seed ")
        items = Counter(s.status for s in sections if s.seed == seed and s.status)
        rows = Counter(r.kind for r in all_rows() if r.seed == seed)
        expected = [sum(items.values()), *(items[s] for s in ITEM_STATUSES), *(rows[s] for s in ROW_STATUSES)]
        assert [int(c) for c in cells[1:]] == expected, f"summary of seed {seed}: expected {expected}"
        totals.update(dict(zip(range(len(expected)), expected, strict=True)))
    assert [int(c) for c in summary[-1][1:]] == [totals[i] for i in range(len(totals))], "the All row"


def _seed_route(method: str, path: str) -> tuple[str, str]:
    path = re.sub(r"(Response:?|API|-)$", "", path)  # the seed text runs words together
    path = re.sub(r"^/api(/v1)?", "", path).rstrip("/") or "/"
    return method, re.sub(r"\{[^}]*\}|:\w+", "{}", path)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the repository")
@pytest.mark.parametrize("seed", sorted(SEED_FILES))
def test_every_path_a_seed_prints_is_mapped(seed: str) -> None:
    printed = {_seed_route(*m.groups()) for m in SEED_ROUTE.finditer((SEEDS / SEED_FILES[seed]).read_text())}
    _, sections = parsed()
    mapped = set()
    for section in sections:
        if section.seed != seed:
            continue
        texts = [section.heading.rsplit("→", 1)[0]] + [row.cells[0] for row in section.rows]
        for text in texts:
            for token in _ticks(text):
                if found := SEED_ROUTE.match(token):
                    mapped.add(_seed_route(*found.groups()))
    assert printed <= mapped, f"not mapped: {sorted(printed - mapped)}"
