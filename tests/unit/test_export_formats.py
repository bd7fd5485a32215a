"""Export file formats: CSV injection neutralised, JSON typed, the zip streamed without seeking."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from dmarcwatch.services.export_formats import CsvWriter, JsonWriter, ZipCsvWriter, csv_cell


class Unseekable:
    """A sink that can only be written to, like the multipart upload."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("x")'])
def test_text_a_spreadsheet_would_evaluate_gets_a_quote(text: str) -> None:
    assert csv_cell(text) == "'" + text
    assert csv_cell([text, "plain"]) == "'" + text + "; plain"


def test_other_cells() -> None:
    assert [csv_cell(v) for v in ("a=b", "", None, True, False, 3, 0.25, [])] == [
        "a=b",
        "",
        "",
        "true",
        "false",
        "3",
        "0.25",
        "",
    ]


def test_csv_round_trips_through_a_reader() -> None:
    sink = Unseekable()
    writer = CsvWriter(sink, ["name", "note"])
    writer.write_rows([["a", 'say "hi", then\nleave'], ["b", None]])
    writer.write_rows([])
    writer.close()
    assert list(csv.reader(io.StringIO(sink.data.decode(), newline=""))) == [
        ["name", "note"],
        ["a", 'say "hi", then\nleave'],
        ["b", ""],
    ]
    assert sink.data.endswith(b"\r\n")


@pytest.mark.parametrize("batches", [[], [[]], [[["x", 1]]], [[["x", 1], ["y", None]], [], [["=z", True]]]])
def test_json_is_one_array_of_typed_objects(batches: list[list[list[object]]]) -> None:
    sink = Unseekable()
    writer = JsonWriter(sink, ["name", "value"])
    for rows in batches:
        writer.write_rows(rows)  # type: ignore[arg-type]
    writer.close()
    expected = [{"name": r[0], "value": r[1]} for rows in batches for r in rows]
    assert json.loads(sink.data) == expected


def test_the_zip_holds_the_csv_and_is_written_without_seeking() -> None:
    sink = Unseekable()
    writer = ZipCsvWriter(sink, ["n"], "rows.csv")
    for start in range(0, 50_000, 10_000):
        writer.write_rows([[str(i)] for i in range(start, start + 10_000)])
    writer.close()
    with zipfile.ZipFile(io.BytesIO(bytes(sink.data))) as archive:
        assert archive.namelist() == ["rows.csv"]
        lines = archive.read("rows.csv").decode().split("\r\n")
    assert lines[:3] == ["n", "0", "1"]
    assert lines[-2] == "49999"
    assert len(sink.data) < 200_000  # deflated
