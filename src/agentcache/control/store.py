"""SQLite persistence of the control plane. Plain data in, plain data out: no policy here."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS namespaces (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,              -- JSON: display name, tags, origin, features, policy, quota
    signing_secret BLOB NOT NULL,    -- sealed
    s3_access_key_id TEXT NOT NULL UNIQUE,
    s3_secret BLOB NOT NULL,         -- sealed
    source TEXT NOT NULL,            -- 'config' or 'api'
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
    key_hash BLOB NOT NULL UNIQUE,   -- sha256 of the key; the key itself is never stored
    created_at REAL NOT NULL,
    expires_at REAL,                 -- set when rotated away (the grace period's end)
    revoked_at REAL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    namespace TEXT,
    detail TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class NamespaceRow:
    name: str
    spec: dict[str, Any]
    signing_secret: bytes  # sealed
    s3_access_key_id: str
    s3_secret: bytes  # sealed
    source: str
    created_at: float


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: str
    namespace: str
    key_hash: bytes
    created_at: float
    expires_at: float | None
    revoked_at: float | None


class ControlStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Made in Granian's factory, used on the event loop's thread: one thread at a time.
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def namespaces(self) -> list[NamespaceRow]:
        rows = self.db.execute("SELECT * FROM namespaces ORDER BY name").fetchall()
        return [NamespaceRow(r[0], json.loads(r[1]), *r[2:]) for r in rows]

    def namespace(self, name: str) -> NamespaceRow | None:
        row = self.db.execute("SELECT * FROM namespaces WHERE name = ?", (name,)).fetchone()
        return NamespaceRow(row[0], json.loads(row[1]), *row[2:]) if row else None

    def insert_namespace(self, row: NamespaceRow) -> None:
        self.db.execute(
            "INSERT INTO namespaces VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                row.name,
                json.dumps(row.spec),
                row.signing_secret,
                row.s3_access_key_id,
                row.s3_secret,
                row.source,
                row.created_at,
            ),
        )

    def update_spec(self, name: str, spec: dict[str, Any]) -> None:
        self.db.execute("UPDATE namespaces SET spec = ? WHERE name = ?", (json.dumps(spec), name))

    def delete_namespace(self, name: str) -> bool:
        return self.db.execute("DELETE FROM namespaces WHERE name = ?", (name,)).rowcount > 0

    def keys(self, namespace: str | None = None) -> list[KeyRow]:
        if namespace is None:
            rows = self.db.execute("SELECT * FROM api_keys ORDER BY created_at").fetchall()
        else:
            rows = self.db.execute(
                "SELECT * FROM api_keys WHERE namespace = ? ORDER BY created_at", (namespace,)
            ).fetchall()
        return [KeyRow(*r) for r in rows]

    def insert_key(self, row: KeyRow) -> None:
        self.db.execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?)",
            (row.id, row.namespace, row.key_hash, row.created_at, row.expires_at, row.revoked_at),
        )

    def expire_keys(self, namespace: str, at: float, except_id: str) -> None:
        self.db.execute(
            "UPDATE api_keys SET expires_at = ? WHERE namespace = ? AND id != ? "
            "AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
            (at, namespace, except_id, at),
        )

    def revoke_key(self, namespace: str, key_id: str, at: float) -> bool:
        cursor = self.db.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE namespace = ? AND id = ? "
            "AND revoked_at IS NULL",
            (at, namespace, key_id),
        )
        return cursor.rowcount > 0

    def delete_keys_from(self, namespace: str, created_before: float) -> None:
        self.db.execute(
            "DELETE FROM api_keys WHERE namespace = ? AND created_at < ?",
            (namespace, created_before),
        )

    def audit(
        self, at: float, actor: str, action: str, namespace: str | None, detail: dict[str, Any]
    ) -> None:
        self.db.execute(
            "INSERT INTO audit (at, actor, action, namespace, detail) VALUES (?, ?, ?, ?, ?)",
            (at, actor, action, namespace, json.dumps(detail)),
        )

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT at, actor, action, namespace, detail FROM audit ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            {
                "at": r[0],
                "actor": r[1],
                "action": r[2],
                "namespace": r[3],
                "detail": json.loads(r[4]),
            }
            for r in rows
        ]
