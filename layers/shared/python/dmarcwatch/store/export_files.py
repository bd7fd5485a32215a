"""Export files in the exports bucket: written as S3 multipart uploads, read through presigned links.

A file is streamed: what is written is buffered up to one part and sent, so memory stays at one part
whatever the file's size. S3 wants every part but the last to be at least 5 MiB.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch.config import get_settings
from dmarcwatch.store import aws

MIN_PART_BYTES = 5 * 1024 * 1024
PART_BYTES = 8 * 1024 * 1024


def _bucket() -> str:
    return get_settings().exports_bucket


class MultipartFile:
    """A write-only binary stream into one S3 object, created when `complete()` succeeds.

    Until then nothing is visible at the key; `abort()` drops the parts sent so far.
    """

    def __init__(self, key: str, content_type: str, part_bytes: int = PART_BYTES) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"S3 parts (but the last) are at least {MIN_PART_BYTES} bytes")
        self.key = key
        self.size = 0
        self._part_bytes = part_bytes
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        created = aws.client("s3").create_multipart_upload(
            Bucket=_bucket(), Key=key, ContentType=content_type
        )
        self.upload_id: str = created["UploadId"]

    def write(self, data: bytes) -> int:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= self._part_bytes:
            self._send(bytes(self._buffer[: self._part_bytes]))
            del self._buffer[: self._part_bytes]
        return len(data)

    def flush(self) -> None:
        """Nothing to do: parts are sent as they fill (zipfile calls this)."""

    @property
    def parts_sent(self) -> int:
        return len(self._parts)

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def _send(self, body: bytes) -> None:
        number = len(self._parts) + 1
        sent = aws.client("s3").upload_part(
            Bucket=_bucket(), Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def complete(self) -> int:
        """Send the rest as the last part and make the object; its size in bytes."""
        if self._buffer or not self._parts:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        aws.client("s3").complete_multipart_upload(
            Bucket=_bucket(), Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self._parts}
        )
        return self.size

    def abort(self) -> None:
        self._buffer.clear()
        abort_upload(self.key, self.upload_id)


def abort_upload(key: str, upload_id: str) -> None:
    """Drop an unfinished upload's parts (gone already is fine: completed, aborted or expired)."""
    try:
        aws.client("s3").abort_multipart_upload(Bucket=_bucket(), Key=key, UploadId=upload_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("NoSuchUpload", "404"):
            raise


def delete_file(key: str) -> None:
    """Delete the file (none there is fine)."""
    aws.client("s3").delete_object(Bucket=_bucket(), Key=key)


def download_url(key: str, filename: str, expires_in: int) -> str:
    """A presigned GET of the file, saved under `filename` by browsers; made on each call, never kept."""
    url: str = aws.presigning_client("s3").generate_presigned_url(
        "get_object",
        Params={
            "Bucket": _bucket(),
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
        },
        ExpiresIn=expires_in,
    )
    return url
