"""`file://` origin: a local directory, the embedded default."""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import secrets
import stat
from collections.abc import AsyncIterator
from pathlib import Path

from agentcache.entry import DEFAULT_CONTENT_TYPE, ObjectInfo
from agentcache.errors import (
    OriginConflict,
    OriginNotFound,
    OriginPreconditionFailed,
    OriginRejected,
)
from agentcache.origin.base import READ_CHUNK_BYTES, NotModified, OriginResponse
from agentcache.policy.ranges import ByteRange

TEMP_PREFIX = ".agentcache-upload-"


def _info(path: Path, st: os.stat_result) -> ObjectInfo:
    ctype = mimetypes.guess_type(path.name)[0] or DEFAULT_CONTENT_TYPE
    # Like nginx: mtime and size make a strong enough validator for a file we do not hash.
    etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
    return ObjectInfo(st.st_size, etag, st.st_mtime, ctype)


class FileOrigin:
    kind = "file"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise OriginRejected(f"key {key!r} escapes the origin directory")
        return path

    async def head(self, key: str) -> ObjectInfo:
        path = self._path(key)
        try:
            st = path.stat()
        except OSError:  # missing, a file where a directory should be, a name too long
            raise OriginNotFound(key) from None
        if not stat.S_ISREG(st.st_mode):
            raise OriginNotFound(key)
        return _info(path, st)

    async def get(
        self,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> OriginResponse | NotModified:
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            raise OriginNotFound(key) from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # a directory opens too; it is not an object
            os.close(fd)
            raise OriginNotFound(key)
        info = _info(path, st)
        if if_none_match is not None and if_none_match == info.etag:
            os.close(fd)
            return NotModified(info)
        if if_match is not None and if_match != info.etag:
            os.close(fd)
            raise OriginPreconditionFailed(f"{key!r} is no longer {if_match}")
        start, end = (byte_range.start, byte_range.end) if byte_range else (0, info.size)

        async def close() -> None:
            with contextlib.suppress(OSError):
                os.close(fd)

        return OriginResponse(info, _read(fd, start, end), byte_range, close)

    async def put(
        self, key: str, body: AsyncIterator[bytes], *, size: int | None, content_type: str
    ) -> ObjectInfo:
        path = self._path(key)
        temp = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with temp.open("wb") as out:
                async for chunk in body:
                    out.write(chunk)
            os.replace(temp, path)  # readers see the old file or the new one, never a mix
        except OSError as exc:  # the key collides with a directory, a name is too long, ...
            raise OriginConflict(f"cannot write {key!r}: {exc.strerror}") from None
        finally:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
        return _info(path, path.stat())

    async def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise OriginConflict(f"cannot delete {key!r}: {exc.strerror}") from None

    async def list(self, prefix: str, limit: int) -> list[str]:
        return await asyncio.to_thread(_list, self.root, prefix, limit)

    async def check(self) -> None:
        if not self.root.is_dir():
            raise OriginNotFound(f"origin directory {self.root} does not exist")

    async def aclose(self) -> None:
        return None


def _list(root: Path, prefix: str, limit: int) -> list[str]:
    """Keys under `prefix`, in key order: a walk of the directory, skipping upload temp files."""
    keys: list[str] = []
    for directory, _, files in os.walk(root):
        for name in files:
            key = os.path.relpath(os.path.join(directory, name), root)
            if key.startswith(prefix) and not name.startswith(TEMP_PREFIX):
                keys.append(key)
    return sorted(keys)[:limit]


async def _read(fd: int, start: int, end: int) -> AsyncIterator[bytes]:
    pos = start
    while pos < end:
        chunk = os.pread(fd, min(READ_CHUNK_BYTES, end - pos), pos)
        if not chunk:
            return
        pos += len(chunk)
        yield chunk
