"""The project's one exception root; adapters translate third-party errors into it.

AgentCacheError
├── ConfigError                 bad configuration, reported once at start-up
├── RequestError                the client's fault: becomes a 4xx with a JSON body
├── OriginError                 anything the origin did
│   ├── OriginNotFound          the object does not exist (404)
│   ├── OriginRejected          the origin refused the request (403, 4xx)
│   ├── OriginPreconditionFailed a conditional write lost (412)
│   ├── OriginConflict          the key cannot be written there (409)
│   └── OriginUnavailable       connection refused, reset, 5xx: worth a retry (502)
│       └── OriginTimeout       no answer in time (504)
└── StorageError                a cache tier failed
    └── CorruptEntry            a stored body does not match its checksum
"""

from __future__ import annotations


class AgentCacheError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(AgentCacheError):
    pass


class RequestError(AgentCacheError):
    """A bad request: `status` and a short machine-readable `code` go into the JSON body."""

    def __init__(
        self, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []  # e.g. Content-Range on a 416, Retry-After on a 429


class OriginError(AgentCacheError):
    status = 502
    code = "origin_error"


class OriginNotFound(OriginError):
    status = 404
    code = "not_found"


class OriginRejected(OriginError):
    status = 502
    code = "origin_rejected"


class OriginPreconditionFailed(OriginError):
    status = 412
    code = "precondition_failed"


class OriginChanged(OriginError):
    """The object changed at the origin during a read pinned to its version: no response may
    mix the two versions, so the read starts again (or, if it had begun, ends short)."""

    status = 503
    code = "object_changed"


class OriginConflict(OriginError):
    status = 409
    code = "conflict"


class OriginUnavailable(OriginError):
    status = 502
    code = "origin_unavailable"


class OriginTimeout(OriginUnavailable):
    status = 504
    code = "origin_timeout"


class StorageError(AgentCacheError):
    pass


class CorruptEntry(StorageError):
    pass
