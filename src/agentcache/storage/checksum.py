"""Per-block checksums, so a range read verifies only the blocks it touches."""

from __future__ import annotations

from array import array

import xxhash


class BlockHasher:
    """Hashes a stream in fixed blocks as it is written (xxh3-64: many GB/s, not a MAC)."""

    def __init__(self, block_bytes: int) -> None:
        self.block_bytes = block_bytes
        self._digests = array("Q")
        self._current = xxhash.xxh3_64()
        self._filled = 0

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), self.block_bytes - self._filled)
            self._current.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == self.block_bytes:
                self._close_block()

    def _close_block(self) -> None:
        self._digests.append(self._current.intdigest())
        self._current = xxhash.xxh3_64()
        self._filled = 0

    def finish(self) -> bytes:
        if self._filled:
            self._close_block()
        return self._digests.tobytes()


def block_digest(data: bytes) -> int:
    return xxhash.xxh3_64_intdigest(data)


def digests(packed: bytes) -> array[int]:
    out = array("Q")
    out.frombytes(packed)
    return out
