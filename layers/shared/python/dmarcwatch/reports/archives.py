"""Streaming gzip and zip readers that enforce the size and ratio caps while they inflate.

Nothing is inflated in one go: output comes in pieces of at most `CHUNK` bytes and each piece is metered
before it is handed on, so a bomb is stopped a few pieces past a cap rather than after filling memory.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from dmarcwatch.reports.errors import ReasonCode, ReportError
from dmarcwatch.reports.limits import Budget, Limits, StreamMeter
from dmarcwatch.reports.sniff import CHUNK

_GZIP_MAGIC = b"\x1f\x8b"
# Compressed input is fed in small slices so that consumed bytes (for the ratio) stay precise.
_IN_SLICE = 16 * 1024


def gunzip(chunks: Iterable[bytes], budget: Budget, location: str) -> Iterator[bytes]:
    """Inflate a gzip stream: every member of a multi-member file, stopping at trailing garbage.

    Trailing bytes that do not start a new gzip member (a CRLF left by a mail gateway, zero padding) end the
    stream quietly: the members before them were complete and their CRCs checked. A member cut short is
    `archive_truncated`; bad deflate data or a CRC mismatch is `archive_corrupt`.
    """
    meter = StreamMeter(budget, location)
    inflater = zlib.decompressobj(wbits=31)
    in_member = True  # False between members: the next bytes must start a new member or are garbage.
    consumed = 0
    pending = b""  # A lone first magic byte at the end of one chunk, waiting for the next.
    for chunk in chunks:
        data = pending + chunk
        pending = b""
        while data:
            if not in_member:
                if data == _GZIP_MAGIC[:1]:
                    pending = data
                    break
                if not data.startswith(_GZIP_MAGIC):
                    return  # trailing garbage after a complete stream
                inflater = zlib.decompressobj(wbits=31)
                in_member = True
            piece, data = data[:_IN_SLICE], data[_IN_SLICE:]
            while True:
                try:
                    out = inflater.decompress(piece, CHUNK)
                except zlib.error as error:
                    raise ReportError(
                        ReasonCode.ARCHIVE_CORRUPT, f"gzip data is corrupt: {error}", location=location
                    ) from None
                rest = inflater.unconsumed_tail
                consumed += len(piece) - len(rest) - len(inflater.unused_data)
                if out:
                    meter.count(len(out), consumed)
                    yield out
                if inflater.eof:
                    data = inflater.unused_data + data
                    in_member = False
                    break
                if not rest and len(out) < CHUNK:
                    break  # this piece is used up and zlib holds no more output for it
                piece = rest
    if in_member:
        raise ReportError(ReasonCode.ARCHIVE_TRUNCATED, "gzip stream ends before its end", location=location)


@dataclass(frozen=True)
class ZipMember:
    name: str
    location: str
    chunks: Iterator[bytes]


def zip_members(data: bytes, limits: Limits, budget: Budget, location: str) -> Iterator[ZipMember]:
    """Every file member of a zip archive, each as a metered stream of decompressed pieces.

    Declared sizes are checked before anything is inflated (zipfile never returns more than the declared
    size, so this bounds a member completely); the stream meter then also counts what is really produced.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as error:
        raise ReportError(
            ReasonCode.ARCHIVE_CORRUPT, f"not a readable zip archive: {error}", location=location
        ) from None
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) > limits.max_archive_members:
            raise ReportError(
                ReasonCode.TOO_MANY_MEMBERS,
                f"zip archive has {len(members)} members (cap {limits.max_archive_members})",
                location=location,
            )
        for info in members:
            where = f"{location} > member {info.filename!r}"
            _check_declared(info, limits, where)
            yield ZipMember(info.filename, where, _read_member(archive, info, budget, where))


def _check_declared(info: zipfile.ZipInfo, limits: Limits, location: str) -> None:
    if info.flag_bits & 0x1:
        raise ReportError(ReasonCode.ARCHIVE_ENCRYPTED, "zip member is encrypted", location=location)
    if info.file_size > limits.max_decompressed_bytes:
        raise ReportError(
            ReasonCode.DECOMPRESSED_SIZE_EXCEEDED,
            f"zip member declares {info.file_size} bytes (cap {limits.max_decompressed_bytes})",
            location=location,
        )
    if (
        info.file_size > limits.ratio_check_after_bytes
        and info.file_size > max(info.compress_size, 1) * limits.max_compression_ratio
    ):
        raise ReportError(
            ReasonCode.COMPRESSION_RATIO_EXCEEDED,
            f"zip member declares {info.file_size} bytes from {info.compress_size} "
            f"(ratio cap {limits.max_compression_ratio:g}:1)",
            location=location,
        )


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, location: str
) -> Iterator[bytes]:
    meter = StreamMeter(budget, location)
    try:
        with archive.open(info) as member:
            while chunk := member.read(CHUNK):
                meter.count(len(chunk), max(info.compress_size, 1))
                yield chunk
    except NotImplementedError as error:
        raise ReportError(ReasonCode.ARCHIVE_UNSUPPORTED, f"zip member: {error}", location=location) from None
    except EOFError:
        raise ReportError(
            ReasonCode.ARCHIVE_TRUNCATED, "zip member data ends early", location=location
        ) from None
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError) as error:
        raise ReportError(
            ReasonCode.ARCHIVE_CORRUPT, f"zip member is corrupt: {error}", location=location
        ) from None
