"""Small plain-ASGI helpers: request headers, JSON errors, response start."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from agentcache.errors import RequestError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Header = tuple[bytes, bytes]

MAX_HEADER_BYTES = 16 * 1024

# Only the request headers the object path reads; everything else is skipped unparsed.
WANTED_HEADERS = frozenset(
    {
        b"authorization",
        b"x-api-key",
        b"range",
        b"if-none-match",
        b"if-modified-since",
        b"if-match",
        b"if-unmodified-since",
        b"if-range",
        b"content-length",
        b"content-type",
    }
)


def request_headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in WANTED_HEADERS:
            if len(value) > MAX_HEADER_BYTES:
                raise RequestError(431, "header_too_large", f"{name.decode()} header too large")
            out[name.decode("latin-1")] = value.decode("latin-1")
    return out


def json_body(status: int, code: str, message: str) -> bytes:
    return json.dumps({"error": code, "message": message, "status": status}).encode()


async def send_json(
    send: Send, status: int, payload: object, extra: list[Header] | None = None
) -> None:
    body = json.dumps(payload).encode()
    await send_bytes(send, status, body, [(b"content-type", b"application/json"), *(extra or [])])


async def send_error(
    send: Send, status: int, code: str, message: str, extra: list[Header] | None = None
) -> None:
    body = json_body(status, code, message)
    await send_bytes(send, status, body, [(b"content-type", b"application/json"), *(extra or [])])


async def send_bytes(send: Send, status: int, body: bytes, headers: list[Header]) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def presented_key(authorization: str | None, x_api_key: str | None) -> bytes:
    """The credential a request carries: `Authorization: Bearer <key>` first, else
    `X-API-Key`. One rule for the object path and the portal."""
    if authorization is not None and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip().encode("latin-1", "replace")
    return (x_api_key or "").strip().encode("latin-1", "replace")
