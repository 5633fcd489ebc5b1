"""Reading uploaded files without holding more than a limit in memory."""

from __future__ import annotations

from fastapi import UploadFile

READ_CHUNK = 64 * 1024


async def read_limited(upload: UploadFile, limit: int) -> bytes:
    """The upload's bytes, reading at most one chunk past the limit (so a huge file is refused early)."""
    data = bytearray()
    while chunk := await upload.read(READ_CHUNK):
        data.extend(chunk)
        if len(data) > limit:
            break
    return bytes(data)
