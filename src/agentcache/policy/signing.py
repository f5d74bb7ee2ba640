"""Signed URLs: HMAC-SHA256 over method, namespace, key and expiry, with a per-namespace secret.

The signature travels in the query string (`X-Expires`, `X-Signature`), so a browser can
download with the URL alone; it is never part of the cache key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

from agentcache.errors import RequestError
from agentcache.policy.numbers import is_decimal

EXPIRES_PARAM = "X-Expires"
SIGNATURE_PARAM = "X-Signature"
MAX_EXPIRES_IN_SECONDS = 7 * 24 * 3600


def signature(secret: bytes, method: str, namespace: str, key: str, expires: int) -> str:
    message = f"{method}\n{namespace}\n{key}\n{expires}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signed_path(secret: bytes, namespace: str, key: str, expires: int, method: str = "GET") -> str:
    sig = signature(secret, method, namespace, key, expires)
    return f"/o/{namespace}/{quote(key)}?{EXPIRES_PARAM}={expires}&{SIGNATURE_PARAM}={sig}"


def verify(
    secret: bytes,
    method: str,
    namespace: str,
    key: str,
    expires_text: str,
    presented: str,
    now: float,
) -> None:
    """Raise a 403 unless the signature matches and has not expired. HEAD rides on GET."""
    if not is_decimal(expires_text) or len(expires_text) > 12:
        raise RequestError(403, "bad_signature", "malformed expiry")
    expires = int(expires_text)
    signed_method = "GET" if method == "HEAD" else method
    expected = signature(secret, signed_method, namespace, key, expires)
    if not hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace")):
        raise RequestError(403, "bad_signature", "signature does not match this request")
    if now >= expires:
        raise RequestError(403, "expired_signature", "this signed URL has expired")
