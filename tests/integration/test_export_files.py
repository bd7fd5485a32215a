"""The multipart file: parts of at least 5 MiB but the last, one part's memory, nothing left on abort."""

from __future__ import annotations

import pytest

from dmarcwatch.store import aws as aws_clients
from dmarcwatch.store import export_files


def parts_of(key: str) -> list[int]:
    head = aws_clients.client("s3").head_object(Bucket=export_files._bucket(), Key=key, PartNumber=1)
    count = int(head.get("PartsCount", 1))
    return [
        int(
            aws_clients.client("s3").head_object(Bucket=export_files._bucket(), Key=key, PartNumber=n)[
                "ContentLength"
            ]
        )
        for n in range(1, count + 1)
    ]


def test_a_file_is_sent_in_parts_of_at_least_five_mib(aws: None) -> None:
    file = export_files.MultipartFile(
        "exports/t/live/big.csv", "text/csv", part_bytes=export_files.MIN_PART_BYTES
    )
    chunk = b"x" * 700_000
    written = b""
    for _ in range(17):  # about 11.4 MiB in writes smaller than a part
        file.write(chunk)
        written += chunk
        assert file.buffered < export_files.MIN_PART_BYTES  # never more than one part in memory
    assert file.parts_sent == 2
    assert file.complete() == len(written)
    body = aws_clients.client("s3").get_object(Bucket=export_files._bucket(), Key=file.key)["Body"].read()
    assert body == written
    sizes = parts_of(file.key)
    assert sizes[:-1] == [export_files.MIN_PART_BYTES] * (len(sizes) - 1)
    assert sum(sizes) == len(written)


def test_a_small_file_is_one_part(aws: None) -> None:
    file = export_files.MultipartFile("exports/t/live/small.csv", "text/csv")
    file.write(b"a,b\r\n")
    assert file.complete() == 5
    assert (
        aws_clients.client("s3").get_object(Bucket=export_files._bucket(), Key=file.key)["Body"].read()
        == b"a,b\r\n"
    )


def test_abort_leaves_nothing(aws: None) -> None:
    file = export_files.MultipartFile(
        "exports/t/live/dropped.csv", "text/csv", part_bytes=export_files.MIN_PART_BYTES
    )
    file.write(b"y" * (export_files.MIN_PART_BYTES + 10))
    file.abort()
    export_files.abort_upload(file.key, file.upload_id)  # again: already gone is fine
    s3 = aws_clients.client("s3")
    assert s3.list_objects_v2(Bucket=export_files._bucket(), Prefix=file.key).get("KeyCount", 0) == 0
    assert not s3.list_multipart_uploads(Bucket=export_files._bucket()).get("Uploads")


def test_parts_below_the_s3_minimum_are_refused(aws: None) -> None:
    with pytest.raises(ValueError, match="5242880"):
        export_files.MultipartFile("exports/t/live/x.csv", "text/csv", part_bytes=1024)
