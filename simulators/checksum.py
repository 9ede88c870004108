"""Checksums of .npy array files by blocks of rows, so that parallel writers can hash what they write.

An array file's checksum is a dict stored in meta.json::

    {"algorithm": "sha256", "rows_per_block": R, "header": digest of the bytes before the first row,
     "blocks": [digest of rows 0..R-1, of rows R..2R-1, ...]}

Every byte of the file is covered (header and rows), so a flipped byte or a truncated file is detected, and the
digest of a block depends only on its rows: a worker that writes rows s..s+R-1 hashes them from memory instead of
the parent re-reading the whole file afterwards.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .errors import DatasetError

BLOCK_BYTES = 1 << 26  # default bytes per block when a whole file is hashed after writing


def digest(data: bytes | np.ndarray) -> str:
    """Hex SHA-256 of bytes or of an array's memory (C order)."""
    if isinstance(data, np.ndarray):
        data = memoryview(np.ascontiguousarray(data)).cast("B")
    return hashlib.sha256(data).hexdigest()


def row_bytes(shape, dtype) -> int:
    """Bytes per row (first-axis entry) of an array of this shape and dtype."""
    return int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(dtype).itemsize


def default_rows_per_block(shape, dtype) -> int:
    """Rows per block that keep a block near BLOCK_BYTES."""
    return max(1, BLOCK_BYTES // max(1, row_bytes(shape, dtype)))


def checksum_entry(rows_per_block: int, header: str, blocks: list[str]) -> dict:
    """The checksum dict of the module docstring, from the header's and each block's digest."""
    return {"algorithm": "sha256", "rows_per_block": rows_per_block, "header": header, "blocks": blocks}


def file_checksum(path: Path, shape, dtype, rows_per_block: int | None = None) -> dict:
    """Checksum of a whole .npy file, read block by block (constant memory)."""
    rows_per_block = rows_per_block or default_rows_per_block(shape, dtype)
    blocks = []
    with open(path, "rb") as f:
        header = f.read(_header_bytes(path, shape, dtype))
        for start in range(0, shape[0], rows_per_block):
            rows = min(rows_per_block, shape[0] - start)
            blocks.append(digest(f.read(rows * row_bytes(shape, dtype))))
    return checksum_entry(rows_per_block, digest(header), blocks)


def header_digest(path: Path, shape, dtype) -> str:
    """SHA-256 of the bytes of a .npy file before its first row."""
    with open(path, "rb") as f:
        return digest(f.read(_header_bytes(path, shape, dtype)))


def verify_file(path: Path, shape, dtype, checksum: dict) -> None:
    """Raise DatasetError if the file's bytes differ from ``checksum`` (as made by ``file_checksum``)."""
    if file_checksum(path, shape, dtype, int(checksum["rows_per_block"])) != checksum:
        raise DatasetError(f"checksum mismatch in {path}: the file is corrupted or was changed")


def _header_bytes(path: Path, shape, dtype) -> int:
    data = int(shape[0]) * row_bytes(shape, dtype)
    header = path.stat().st_size - data
    if header <= 0:
        raise DatasetError(
            f"array file {path} is truncated: {path.stat().st_size} bytes cannot hold {list(shape)} {dtype}"
        )
    return header


META_DIGEST_KEY = "meta_sha256"  # meta.json's own checksum: a flipped byte in dt or a name is detected


def meta_digest(meta: dict) -> str:
    """SHA-256 of meta.json's contents (every key but ``meta_sha256``), as canonical JSON with sorted keys."""
    body = {k: v for k, v in meta.items() if k != META_DIGEST_KEY}
    return digest(json.dumps(body, sort_keys=True).encode())


def seal_meta(meta: dict) -> dict:
    """``meta`` with its own checksum added under ``meta_sha256``."""
    return {**meta, META_DIGEST_KEY: meta_digest(meta)}


def verify_meta(meta: dict, path: Path) -> None:
    """Raise DatasetError when meta.json (at ``path``) holds a checksum its contents no longer match."""
    want = meta.get(META_DIGEST_KEY)
    if want is not None and meta_digest(meta) != want:
        raise DatasetError(
            f"{path} is corrupted or was edited by hand: its contents do not match its meta_sha256; "
            "generate or import the dataset again"
        )
