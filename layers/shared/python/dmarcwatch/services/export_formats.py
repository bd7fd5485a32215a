"""Export file formats, written row batch by row batch into a byte stream (never the whole file in memory).

- csv:  RFC 4180 (comma, double quotes, CRLF), a header row of the column names, UTF-8 without a BOM.
  Lists are joined with "; ", booleans are `true`/`false`, nulls empty. Text cells that a spreadsheet
  would run as a formula (starting with = + - @ tab or carriage return, OWASP's list) get a leading `'`.
  Numbers are the service's own counters and never carry a formula, so they stay numbers.
- json: one array of objects keyed by column name, values typed (numbers, booleans, null, lists). JSON is
  not opened by spreadsheets, so nothing is neutralised.
- zip:  the CSV as the archive's one member, deflated, streamed (zip64 data descriptors, no seeking).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from typing import Protocol

Cell = str | int | float | bool | None | list[str]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class ByteSink(Protocol):
    def write(self, data: bytes, /) -> int: ...


def neutralised(text: str) -> str:
    """The text with a leading `'` when a spreadsheet would evaluate it (CSV injection)."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return neutralised("; ".join(value) if isinstance(value, list) else value)


class RowWriter(Protocol):
    def write_rows(self, rows: Sequence[Sequence[Cell]]) -> None: ...

    def close(self) -> None:
        """Finish the format (closing brackets, the archive's directory); the sink stays open."""


class CsvWriter:
    def __init__(self, sink: ByteSink, columns: Sequence[str]) -> None:
        self._sink = sink
        self._write([list(columns)])

    def _write(self, rows: Sequence[Sequence[str]]) -> None:
        text = io.StringIO()
        csv.writer(text, lineterminator="\r\n").writerows(rows)
        self._sink.write(text.getvalue().encode())

    def write_rows(self, rows: Sequence[Sequence[Cell]]) -> None:
        if rows:
            self._write([[csv_cell(value) for value in row] for row in rows])

    def close(self) -> None:
        pass


class JsonWriter:
    def __init__(self, sink: ByteSink, columns: Sequence[str]) -> None:
        self._sink = sink
        self._columns = list(columns)
        self._first = True
        sink.write(b"[")

    def write_rows(self, rows: Sequence[Sequence[Cell]]) -> None:
        if not rows:
            return
        objects = ",\n".join(json.dumps(dict(zip(self._columns, row, strict=True))) for row in rows)
        self._sink.write(("\n" if self._first else ",\n").encode() + objects.encode())
        self._first = False

    def close(self) -> None:
        self._sink.write(b"]\n" if self._first else b"\n]\n")


class ZipCsvWriter:
    def __init__(self, sink: ByteSink, columns: Sequence[str], member: str) -> None:
        # zipfile writes to a stream without seeking when it cannot tell its position (our sink).
        self._archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED)  # type: ignore[call-overload]
        self._member = self._archive.open(member, "w", force_zip64=True)
        self._csv = CsvWriter(self._member, columns)

    def write_rows(self, rows: Sequence[Sequence[Cell]]) -> None:
        self._csv.write_rows(rows)

    def close(self) -> None:
        self._member.close()
        self._archive.close()
