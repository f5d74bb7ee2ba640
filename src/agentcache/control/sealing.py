"""Secrets at rest (signing secrets, S3 secret keys) are sealed with a master key (Fernet:
AES-128-CBC + HMAC-SHA256). The master key comes from AGENTCACHE_MASTER_KEY or a 0600 file
created next to the control database."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from agentcache.errors import ConfigError


class Sealer:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise ConfigError("master key must be 32 url-safe base64-encoded bytes") from None

    @classmethod
    def from_env_or_file(cls, env_value: str | None, path: Path) -> Sealer:
        if env_value:
            return cls(env_value.encode())
        if not path.exists():
            # Written aside and linked into place: workers starting together all read one
            # complete key, whichever of them made it.
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.{os.getpid()}")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
            with contextlib.suppress(FileExistsError):
                os.link(temp, path)
            temp.unlink()
        return cls(path.read_bytes().strip())

    def seal(self, secret: bytes) -> bytes:
        return self._fernet.encrypt(secret)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken:
            raise ConfigError("a stored secret does not open with this master key") from None
