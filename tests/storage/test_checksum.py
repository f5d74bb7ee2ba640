from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from agentcache.storage.checksum import BlockHasher, block_digest, digests


@given(
    body=st.binary(max_size=5000),
    cuts=st.lists(st.integers(0, 5000), max_size=8),
    block=st.integers(1, 700),
)
def test_streamed_block_hashes_equal_hashes_of_blocks(
    body: bytes, cuts: list[int], block: int
) -> None:
    hasher = BlockHasher(block)
    bounds = sorted({0, len(body), *(c for c in cuts if c <= len(body))})
    for lo, hi in itertools.pairwise(bounds):
        hasher.update(body[lo:hi])
    expected = [block_digest(body[i : i + block]) for i in range(0, len(body), block)]
    assert list(digests(hasher.finish())) == expected
