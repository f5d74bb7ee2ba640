"""Disk tier: bodies as files, metadata in a SQLite index, crash-safe in diskcache's order.

A body is written to tmp/, optionally fsynced, renamed into bodies/, and only then is the index
row committed. A row whose body is missing, or whose blocks fail their checksum, is a miss.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from agentcache.entry import Entry
from agentcache.errors import CorruptEntry, StorageError
from agentcache.storage.checksum import block_digest, digests

log = logging.getLogger(__name__)

TOUCH_FLUSH_EVERY = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    entry TEXT NOT NULL,
    checksums BLOB NOT NULL,
    block_bytes INTEGER NOT NULL,
    accessed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_lru ON entries (accessed_at);
CREATE INDEX IF NOT EXISTS entries_namespace_lru ON entries (namespace, accessed_at);
-- Running byte totals: '' for the whole tier, one row per namespace (for quotas).
CREATE TABLE IF NOT EXISTS totals (id TEXT PRIMARY KEY, bytes INTEGER NOT NULL);
INSERT OR IGNORE INTO totals VALUES ('', 0);
"""
SCHEMA_VERSION = 2


@dataclass(slots=True)
class DiskObject:
    entry: Entry
    path: Path
    checksums: bytes
    block_bytes: int
    tier: str = "disk"

    async def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Yield [start, end) block by block, verifying each block before any of it leaves."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            raise CorruptEntry(f"body of {self.entry.key!r} is missing") from None
        try:
            sums = digests(self.checksums)
            block = start // self.block_bytes
            while block * self.block_bytes < end:
                offset = block * self.block_bytes
                want = min(self.block_bytes, self.entry.info.size - offset)
                data = os.pread(fd, want, offset)
                if len(data) != want or block >= len(sums) or block_digest(data) != sums[block]:
                    raise CorruptEntry(f"block {block} of {self.entry.key!r} failed its checksum")
                lo = max(start - offset, 0)
                hi = min(end - offset, want)
                yield data if (lo, hi) == (0, want) else data[lo:hi]
                block += 1
        finally:
            os.close(fd)


class DiskTier:
    name = "disk"

    def __init__(
        self,
        root: Path,
        max_bytes: int,
        *,
        fsync: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.clock = clock
        # Each process spools under its own directory and holds an flock on it while it lives,
        # so one worker's start-up never removes another's in-flight fills, and a dead
        # process's directory is recognised even if its pid was reused or is a zombie.
        self.tmp_root = root / "tmp"
        self.tmp = self.tmp_root / f"{os.getpid()}-{secrets.token_hex(4)}"
        self._spool_lock: int | None = None
        self.bodies = root / "bodies"
        self._touched: dict[str, float] = {}
        self._db: sqlite3.Connection | None = None
        self._quotas: dict[str, int] = {}
        self.last_error: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def open(self) -> None:
        self.bodies.mkdir(parents=True, exist_ok=True)
        self._remove_dead_spools()
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._spool_lock = os.open(self.tmp / ".owner", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._spool_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # One event loop uses the tier at a time, though not always from the thread that opened
        # it (test clients run apps in a portal thread).
        db = sqlite3.connect(
            self.root / "index.sqlite3", isolation_level=None, timeout=10, check_same_thread=False
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if self.fsync else 'NORMAL'}")
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            # An index from another version: the cache is disposable, so start it afresh.
            db.executescript("DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS totals;")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.executescript(_SCHEMA)
        self._db = db
        self._remove_orphans()

    def close(self) -> None:
        if self._spool_lock is not None:
            os.close(self._spool_lock)
            self._spool_lock = None
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self._db is not None:
            self._flush_touches()
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StorageError("disk tier is not open")
        return self._db

    def _remove_dead_spools(self) -> None:
        """Partial fills of processes that died: never served, so simply removed."""
        self.tmp_root.mkdir(parents=True, exist_ok=True)
        for spool_dir in self.tmp_root.iterdir():
            if not _owner_alive(spool_dir):
                shutil.rmtree(spool_dir, ignore_errors=True)

    def _remove_orphans(self) -> None:
        """Bodies renamed into place whose index row never committed (a crash in between)."""
        known = {row[0] for row in self.db.execute("SELECT path FROM entries")}
        for path in self.bodies.glob("*/*"):
            if str(path.relative_to(self.bodies)) not in known:
                path.unlink(missing_ok=True)

    # -- writes ----------------------------------------------------------------------------

    def spool(self) -> tuple[Path, int]:
        """A new temp file for a fill: (path, fd open for writing and positioned reads)."""
        path = self.tmp / secrets.token_hex(12)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        return path, fd

    def set_quota(self, namespace: str, quota_bytes: int | None) -> None:
        if quota_bytes is None:
            self._quotas.pop(namespace, None)
        else:
            self._quotas[namespace] = quota_bytes

    def fits(self, size: int, namespace: str) -> bool:
        return size <= min(self.max_bytes, self._quotas.get(namespace, self.max_bytes))

    def commit(self, entry: Entry, temp: Path, fd: int, checksums: bytes, block_bytes: int) -> None:
        """Move a complete spool file into place, then index it, then evict down to the bounds."""
        if self.fsync:
            os.fsync(fd)
        digest = hashlib.sha256(entry.key.encode()).hexdigest()[:32]
        relative = f"{digest[:2]}/{digest}.{secrets.token_hex(4)}"
        target = self.bodies / relative
        target.parent.mkdir(exist_ok=True)
        os.link(temp, target)  # the spool stays readable for in-flight readers until they finish
        namespace = entry.key.split("/", 1)[0]
        row = (
            entry.key,
            namespace,
            relative,
            entry.info.size,
            entry.to_json(),
            checksums,
            block_bytes,
            self.clock(),
        )
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            doomed = self._remove_rows(
                db.execute(
                    "SELECT key, namespace, path, size FROM entries WHERE key = ?", (entry.key,)
                ).fetchall()
            )
            db.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            self._add(namespace, entry.info.size)
            doomed += self._evict_locked(namespace)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            target.unlink(missing_ok=True)
            raise
        for path in doomed:
            (self.bodies / path).unlink(missing_ok=True)

    def _add(self, namespace: str, delta: int) -> None:
        self.db.execute("UPDATE totals SET bytes = bytes + ? WHERE id = ''", (delta,))
        self.db.execute(
            "INSERT INTO totals VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET bytes = bytes + ?",
            (namespace, delta, delta),
        )

    def _remove_rows(self, rows: list[tuple[str, str, str, int]]) -> list[str]:
        """Delete (key, namespace, path, size) rows inside a transaction; return their paths."""
        for key, namespace, _, size in rows:
            self.db.execute("DELETE FROM entries WHERE key = ?", (key,))
            self._add(namespace, -size)
        return [path for _, _, path, _ in rows]

    def _evict_locked(self, namespace: str) -> list[str]:
        """Least-recently-used rows go until the namespace is under its quota (only its own
        rows) and the tier under its bound: work bounded by what one write added."""
        self._flush_touches_locked()
        doomed: list[str] = []
        quota = self._quotas.get(namespace)
        while quota is not None and self.used_bytes(namespace) > quota:
            if not (evicted := self._evict_one("WHERE namespace = ?", (namespace,))):
                break  # totals and rows disagree: never spin
            doomed += evicted
        while self.used_bytes() > self.max_bytes:
            if not (evicted := self._evict_one("", ())):
                break
            doomed += evicted
        return doomed

    def _evict_one(self, where: str, args: tuple[str, ...]) -> list[str]:
        rows = self.db.execute(
            f"SELECT key, namespace, path, size FROM entries {where} ORDER BY accessed_at LIMIT 1",
            args,
        ).fetchall()
        return self._remove_rows(rows)

    def used_bytes(self, namespace: str = "") -> int:
        row = self.db.execute("SELECT bytes FROM totals WHERE id = ?", (namespace,)).fetchone()
        return int(row[0]) if row else 0

    # -- reads and invalidation ------------------------------------------------------------

    async def get(self, key: str) -> DiskObject | None:
        try:
            row = self.db.execute(
                "SELECT path, entry, checksums, block_bytes FROM entries WHERE key = ?", (key,)
            ).fetchone()
        except sqlite3.Error as exc:  # a broken index costs hits, never a request
            self.last_error = f"index read failed: {exc}"
            return None
        if row is None:
            return None
        self._touch(key)
        return DiskObject(Entry.from_json(row[1]), self.bodies / row[0], row[2], row[3])

    def _touch(self, key: str) -> None:
        # Access times are batched: a hit must not cost a SQLite write.
        self._touched[key] = self.clock()
        if len(self._touched) >= TOUCH_FLUSH_EVERY:
            self._flush_touches()

    def _flush_touches(self) -> None:
        if self._touched and self._db is not None:
            self._db.execute("BEGIN IMMEDIATE")
            self._flush_touches_locked()
            self._db.execute("COMMIT")

    def _flush_touches_locked(self) -> None:
        touched, self._touched = self._touched, {}
        self.db.executemany(
            "UPDATE entries SET accessed_at = ? WHERE key = ?",
            [(when, key) for key, when in touched.items()],
        )

    async def renew(self, key: str, entry: Entry) -> None:
        self.db.execute("UPDATE entries SET entry = ? WHERE key = ?", (entry.to_json(), key))

    async def delete(self, key: str) -> int:
        return self._delete_where("key = ?", key)

    async def delete_prefix(self, prefix: str) -> int:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return self._delete_where("key LIKE ? ESCAPE '\\'", escaped + "%")

    def _delete_where(self, where: str, arg: str) -> int:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute(
                f"SELECT key, namespace, path, size FROM entries WHERE {where}", (arg,)
            ).fetchall()
            paths = self._remove_rows(rows)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        for path in paths:
            (self.bodies / path).unlink(missing_ok=True)
        return len(rows)

    def status(self) -> dict[str, object]:
        with contextlib.suppress(sqlite3.Error, StorageError):
            entries = self.db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
            return {
                "ok": self.last_error is None,
                "entries": entries,
                "used_bytes": self.used_bytes(),
                "max_bytes": self.max_bytes,
                "error": self.last_error,
            }
        return {"ok": False, "error": "index unavailable"}


def _owner_alive(spool_dir: Path) -> bool:
    """True while the process that made `spool_dir` holds the flock on its owner file."""
    try:
        fd = os.open(spool_dir / ".owner", os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing also drops the lock we may just have taken
    return False
