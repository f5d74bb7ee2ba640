"""HLS prefetch: when a player asks for a playlist or a segment, fetch the next segments in
the background, so its next requests are hits.

A playlist is parsed when it is read (VOD playlists once per version); each segment it lists
remembers its place, so a request for segment k queues k+1 .. k+N. Each namespace fetches at
most `concurrency` segments at a time and queues at most `max_queued`; a segment already
cached or on its way is not fetched again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from agentcache.errors import AgentCacheError, StorageError
from agentcache.namespace import Namespace
from agentcache.policy.classify import is_playlist
from agentcache.policy.hls import MAX_PLAYLIST_BYTES, Playlist, parse_playlist
from agentcache.storage.base import StoredObject, read_body

log = logging.getLogger(__name__)

MAX_PREFETCH_SEGMENTS = 20

# What the edge lends the prefetcher and warm-up jobs: fetch a key whole (True when the origin
# was asked), find a stored copy, and run work in the background.
Warm = Callable[[Namespace, str], Awaitable[bool]]
Lookup = Callable[[Namespace, str], Awaitable[StoredObject | None]]
Spawn = Callable[[Awaitable[None]], None]


async def read_playlist(stored: StoredObject, key: str) -> Playlist | None:
    """A stored copy of `key` parsed as an HLS playlist; None when it is not one we can read."""
    info = stored.entry.info
    if not is_playlist(key, info.content_type) or info.size > MAX_PLAYLIST_BYTES:
        return None
    try:
        return parse_playlist(await read_body(stored), key)
    except StorageError as exc:
        log.info("cannot read playlist %s: %s", stored.entry.key, exc)
        return None


class Prefetcher:
    def __init__(
        self,
        warm: Warm,
        lookup: Lookup,
        spawn: Spawn,
        *,
        concurrency: int = 4,
        max_queued: int = 64,
        max_playlists: int = 1024,
    ) -> None:
        self._warm = warm
        self._lookup = lookup
        self._spawn = spawn
        self.concurrency = concurrency
        self.max_queued = max_queued
        self.max_playlists = max_playlists
        # (namespace, playlist key) -> (its version's ETag, parsed), least recently used first
        self._playlists: OrderedDict[tuple[str, str], tuple[str | None, Playlist]] = OrderedDict()
        # (namespace, segment key) -> (namespace, playlist key) and the segment's place in it
        self._places: dict[tuple[str, str], tuple[tuple[str, str], int]] = {}
        self._queued: set[tuple[str, str]] = set()
        self._reading: set[tuple[str, str]] = set()  # playlists being parsed
        self._slots: dict[str, asyncio.Semaphore] = {}
        self.fetched = 0  # segments fetched ahead of a request, for tests and stats

    def on_read(self, ns: Namespace, key: str, content_type: str) -> None:
        """A player read `key`: queue what it will want next."""
        ahead = min(ns.policy.prefetch_segments, MAX_PREFETCH_SEGMENTS)
        if not ns.config.features.video_streaming or ahead <= 0:
            return
        if is_playlist(key, content_type):
            if (ns.name, key) not in self._reading:  # one parse per playlist at a time
                self._reading.add((ns.name, key))
                self._spawn(self._after_playlist(ns, key, ahead))
            return
        place = self._places.get((ns.name, key))
        if place is None:
            return
        playlist_id, index = place
        known = self._playlists.get(playlist_id)
        if known is not None:
            self._queue(ns, known[1].segments[index + 1 : index + 1 + ahead])

    async def _after_playlist(self, ns: Namespace, key: str, ahead: int) -> None:
        try:
            playlist = await self._learn(ns, key)
        finally:
            self._reading.discard((ns.name, key))
        if playlist is None or not playlist.segments:
            return
        # A player starts a VOD stream at its first segment, a live one near its end.
        segments = playlist.segments
        self._queue(ns, segments[:ahead] if playlist.ended else segments[-ahead:])

    async def _learn(self, ns: Namespace, key: str) -> Playlist | None:
        stored = await self._lookup(ns, key)
        if stored is None:
            return None
        playlist_id = (ns.name, key)
        known = self._playlists.get(playlist_id)
        etag = stored.entry.info.etag
        if known is not None and known[1].ended and etag is not None and known[0] == etag:
            self._playlists.move_to_end(playlist_id)
            return known[1]
        playlist = await read_playlist(stored, key)
        if playlist is None:
            return None
        self._forget(playlist_id)
        self._playlists[playlist_id] = (etag, playlist)
        for index, segment in enumerate(playlist.segments):
            self._places[(ns.name, segment)] = (playlist_id, index)
        while len(self._playlists) > self.max_playlists:
            self._forget(next(iter(self._playlists)))
        return playlist

    def _forget(self, playlist_id: tuple[str, str]) -> None:
        known = self._playlists.pop(playlist_id, None)
        if known is None:
            return
        for segment in known[1].segments:
            place = (playlist_id[0], segment)
            if self._places.get(place, (None, 0))[0] == playlist_id:
                del self._places[place]

    def _queue(self, ns: Namespace, segments: tuple[str, ...]) -> None:
        for segment in segments:
            item = (ns.name, segment)
            if item in self._queued:
                continue
            if sum(1 for name, _ in self._queued if name == ns.name) >= self.max_queued:
                return
            self._queued.add(item)
            self._spawn(self._fetch(ns, segment, item))

    async def _fetch(self, ns: Namespace, segment: str, item: tuple[str, str]) -> None:
        slots = self._slots.setdefault(ns.name, asyncio.Semaphore(self.concurrency))
        try:
            async with slots:
                if await self._warm(ns, segment):
                    self.fetched += 1
        except AgentCacheError as exc:  # a missing segment is the player's problem, not ours
            log.info("prefetch of %s/%s failed: %s", ns.name, segment, exc)
        finally:
            self._queued.discard(item)
