"""How the client commands print rows: an aligned table, JSON, CSV (as the export files write it), names."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from dmarcwatch.services.export_formats import Cell, csv_cell

# A table cell longer than this is cut (the full value is in --json and --csv).
MAX_TABLE_CELL = 48


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    NAMES = "names"


def _plain(item: BaseModel | dict[str, Any]) -> dict[str, Any]:
    return item.model_dump(mode="json") if isinstance(item, BaseModel) else item


def emit_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def _cell(value: Any) -> Cell:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return json.dumps(value, separators=(",", ":"))


def _table_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    text = str(value)
    return text if len(text) <= MAX_TABLE_CELL else text[: MAX_TABLE_CELL - 1] + "…"


def emit_rows(
    rows: Iterable[BaseModel | dict[str, Any]],
    columns: Sequence[str],
    output: OutputFormat,
    *,
    name_column: str = "id",
) -> int:
    """Print rows in the chosen format; how many there were. JSON and CSV stream row by row."""
    count = 0
    out = sys.stdout
    if output is OutputFormat.CSV:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            data = _plain(row)
            writer.writerow([csv_cell(_cell(data.get(c))) for c in columns])
            count += 1
    elif output is OutputFormat.JSON:
        out.write("[")
        for row in rows:
            out.write(("\n  " if count == 0 else ",\n  ") + json.dumps(_plain(row)))
            count += 1
        out.write("\n]\n" if count else "]\n")
    elif output is OutputFormat.NAMES:
        for row in rows:
            out.write(f"{_plain(row)[name_column]}\n")
            count += 1
    else:
        table = [[_table_text(_cell(_plain(row).get(c))) for c in columns] for row in rows]
        count = len(table)
        widths = [max([len(c), *(len(r[i]) for r in table)]) for i, c in enumerate(columns)]
        for line in [list(columns), *table]:
            out.write("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() + "\n")
    return count


def emit_fields(item: BaseModel | dict[str, Any], output: OutputFormat) -> None:
    """One object: `name  value` lines, or JSON (CSV: a one-row table of its top-level fields)."""
    data = _plain(item)
    if output is OutputFormat.JSON:
        emit_json(data)
        return
    if output is OutputFormat.CSV:
        emit_rows([data], list(data), output)
        return
    width = max(len(k) for k in data)
    for name, value in data.items():
        sys.stdout.write(f"{name.ljust(width)}  {_table_text(_cell(value))}\n")


def note(message: str) -> None:
    """Progress and summaries for a person go to stderr, so stdout stays parseable."""
    sys.stderr.write(message + "\n")
