"""Disk tier: bodies as files, metadata in a SQLite index, crash-safe in diskcache's order.

A body is written to tmp/, optionally fsynced, renamed into bodies/, and only then is the index
row committed. A row whose body is missing, or whose blocks fail their checksum, is a miss.

A large object's row points at a sparse file that its chunks are written into in place; each
chunk gets its own `chunks` row (with its block checksums) only once all its bytes are written,
so a chunk interrupted by a crash is simply absent and is fetched again.
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
from collections.abc import Callable
from pathlib import Path

from agentcache.entry import Entry, same_version
from agentcache.errors import StorageError
from agentcache.storage.bodies import ChunkedObject, DiskObject

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
    accessed_at REAL NOT NULL,
    chunk_bytes INTEGER NOT NULL  -- 0: a whole object; else a chunked one, `size` = bytes held
);
CREATE TABLE IF NOT EXISTS chunks (
    path TEXT NOT NULL,  -- the object's file: a new version has a new one
    idx INTEGER NOT NULL,
    checksums BLOB NOT NULL,
    PRIMARY KEY (path, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_lru ON entries (accessed_at);
CREATE INDEX IF NOT EXISTS entries_namespace_lru ON entries (namespace, accessed_at);
-- Running byte totals: '' for the whole tier, one row per namespace (for quotas).
CREATE TABLE IF NOT EXISTS totals (id TEXT PRIMARY KEY, bytes INTEGER NOT NULL);
INSERT OR IGNORE INTO totals VALUES ('', 0);
"""
SCHEMA_VERSION = 3
# An `entries` row: key, namespace, path, size, entry, checksums, block_bytes, accessed_at,
# chunk_bytes.
_Row = tuple[str, str, str, int, str, bytes, int, float, int]


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
            db.executescript(
                "DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS totals;"
                "DROP TABLE IF EXISTS chunks;"
            )
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
        relative = self._new_body_path(entry.key)
        target = self.bodies / relative
        target.parent.mkdir(exist_ok=True)
        os.link(temp, target)  # the spool stays readable for in-flight readers until they finish
        namespace = entry.key.split("/", 1)[0]
        row: _Row = (
            entry.key,
            namespace,
            relative,
            entry.info.size,
            entry.to_json(),
            checksums,
            block_bytes,
            self.clock(),
            0,
        )
        try:
            self._insert(row)
        except BaseException:
            target.unlink(missing_ok=True)
            raise

    def _insert(self, row: _Row) -> None:
        """Index a new row in place of the key's old one (whole or chunked), then evict."""
        key, namespace, size = row[0], row[1], row[3]
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            doomed = self._remove_rows(
                db.execute(
                    "SELECT key, namespace, path, size FROM entries WHERE key = ?", (key,)
                ).fetchall()
            )
            db.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            self._add(namespace, size)
            doomed += self._evict_locked(namespace)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._unlink(doomed)

    def _unlink(self, paths: list[str]) -> None:
        for path in paths:
            (self.bodies / path).unlink(missing_ok=True)

    # -- chunked objects -------------------------------------------------------------------

    def open_chunked(
        self, entry: Entry, chunk_bytes: int, block_bytes: int
    ) -> tuple[ChunkedObject, bool]:
        """The chunked copy of this version, made (empty) if the key holds none or an older
        one; True when it was made just now."""
        row = self.db.execute(
            "SELECT path, entry, chunk_bytes, block_bytes FROM entries WHERE key = ?", (entry.key,)
        ).fetchone()
        if row is not None and row[2] > 0:
            stored = Entry.from_json(row[1])
            if same_version(stored.info, entry.info):
                return self._chunked(stored, row[0], row[2], row[3]), False
        relative = self._new_body_path(entry.key)
        (self.bodies / relative).parent.mkdir(exist_ok=True)
        os.close(os.open(self.bodies / relative, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        namespace = entry.key.split("/", 1)[0]
        try:
            self._insert(
                (
                    entry.key,
                    namespace,
                    relative,
                    0,
                    entry.to_json(),
                    b"",
                    block_bytes,
                    self.clock(),
                    chunk_bytes,
                )
            )
        except BaseException:
            (self.bodies / relative).unlink(missing_ok=True)
            raise
        return self._chunked(entry, relative, chunk_bytes, block_bytes), True

    def _chunked(
        self, entry: Entry, relative: str, chunk_bytes: int, block_bytes: int
    ) -> ChunkedObject:
        return ChunkedObject(
            entry, self.bodies / relative, relative, chunk_bytes, block_bytes, self
        )

    def commit_chunk(self, obj: ChunkedObject, index: int, checksums: bytes, fd: int) -> bool:
        """Index a chunk whose bytes are all written; False when its object has been dropped
        or replaced meanwhile (the bytes then went to a file nobody will read)."""
        if self.fsync:
            os.fsync(fd)
        start, end = obj.chunk_span(index)
        namespace = obj.entry.key.split("/", 1)[0]
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            # Nothing is added for an object no longer indexed, or for a chunk already there.
            added = db.execute(
                "INSERT OR IGNORE INTO chunks SELECT ?, ?, ?"
                " WHERE EXISTS (SELECT 1 FROM entries WHERE path = ?)",
                (obj.version, index, checksums, obj.version),
            ).rowcount
            if added:
                db.execute(
                    "UPDATE entries SET size = size + ?, accessed_at = ? WHERE path = ?",
                    (end - start, self.clock(), obj.version),
                )
                self._add(namespace, end - start)
                doomed = self._evict_locked(namespace)
            stored = (
                added
                or db.execute("SELECT 1 FROM entries WHERE path = ?", (obj.version,)).fetchone()
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if added:
            self._unlink(doomed)
        return bool(stored)

    def delete_version(self, key: str, version: str) -> int:
        """Remove the key's copy only if it is still this version (a file path)."""
        return self._delete_where("key = ? AND path = ?", key, version)

    def chunk_checksums(self, version: str, index: int) -> bytes | None:
        row = self.db.execute(
            "SELECT checksums FROM chunks WHERE path = ? AND idx = ?", (version, index)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def present_chunks(self, version: str, first: int, last: int) -> set[int]:
        rows = self.db.execute(
            "SELECT idx FROM chunks WHERE path = ? AND idx BETWEEN ? AND ?", (version, first, last)
        )
        return {row[0] for row in rows}

    def _new_body_path(self, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return f"{digest[:2]}/{digest}.{secrets.token_hex(4)}"

    def _add(self, namespace: str, delta: int) -> None:
        self.db.execute("UPDATE totals SET bytes = bytes + ? WHERE id = ''", (delta,))
        self.db.execute(
            "INSERT INTO totals VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET bytes = bytes + ?",
            (namespace, delta, delta),
        )

    def _remove_rows(self, rows: list[tuple[str, str, str, int]]) -> list[str]:
        """Delete (key, namespace, path, size) rows inside a transaction; return their paths."""
        for key, namespace, path, size in rows:
            self.db.execute("DELETE FROM entries WHERE key = ?", (key,))
            self.db.execute("DELETE FROM chunks WHERE path = ?", (path,))
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

    async def get(self, key: str) -> DiskObject | ChunkedObject | None:
        try:
            row = self.db.execute(
                "SELECT path, entry, checksums, block_bytes, chunk_bytes FROM entries"
                " WHERE key = ?",
                (key,),
            ).fetchone()
        except sqlite3.Error as exc:  # a broken index costs hits, never a request
            self.last_error = f"index read failed: {exc}"
            return None
        if row is None:
            return None
        self._touch(key)
        if row[4] > 0:
            return self._chunked(Entry.from_json(row[1]), row[0], row[4], row[3])
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

    def _delete_where(self, where: str, *args: str) -> int:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute(
                f"SELECT key, namespace, path, size FROM entries WHERE {where}", args
            ).fetchall()
            paths = self._remove_rows(rows)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._unlink(paths)
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
