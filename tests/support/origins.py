"""One interface over the three origin kinds, so behaviour tests can be parametrised.

`seed` and `remove` act on the origin's storage directly, as another writer would; `count`
asks the origin itself how many object reads it served (None for a directory).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx

from agentcache.config import OriginSpec

S3_ENV = {"AC_TEST_S3_KEY": "testing", "AC_TEST_S3_SECRET": "testing"}


@dataclass
class OriginUnderTest:
    kind: str
    spec: OriginSpec

    def seed(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        raise NotImplementedError

    def remove(self, key: str) -> None:
        raise NotImplementedError

    def read(self, key: str) -> bytes | None:
        raise NotImplementedError

    def count(self, key: str | None = None) -> int | None:
        return None


@dataclass
class DirOrigin(OriginUnderTest):
    root: Path | None = None

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key

    def seed(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".seed")
        temp.write_bytes(body)
        temp.replace(path)
        # Two writes in the same clock tick must still give different ETags (mtime_ns-size).
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + _bump()))

    def remove(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def read(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.exists() else None


_counter = 0


def _bump() -> int:
    global _counter
    _counter += 1
    return _counter * 1000


@dataclass
class HttpOriginUnderTest(DirOrigin):
    base_url: str = ""
    prefix: str = ""

    def count(self, key: str | None = None) -> int | None:
        data = httpx.get(f"{self.base_url}/__count").json()
        return int(data["total"] if key is None else data["by_key"].get(self.prefix + key, 0))

    def reads(self, key: str) -> list[dict[str, object]]:
        """Every GET and HEAD the origin served for `key`: method, range, status, bytes."""
        response = httpx.get(f"{self.base_url}/__reads", params={"key": self.prefix + key})
        return list(response.json())

    def conditional_count(self, key: str) -> int:
        data = httpx.get(f"{self.base_url}/__count").json()
        return int(data["by_key"].get("conditional:" + self.prefix + key, 0))

    def set_headers(self, key: str, headers: dict[str, str]) -> None:
        """Response headers the origin adds for this object (Cache-Control, Expires, ...)."""
        path = self._path(key + ".headers")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({k.lower(): v for k, v in headers.items()}))


@dataclass
class S3OriginUnderTest(OriginUnderTest):
    endpoint: str = ""
    bucket: str = ""

    @property
    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def seed(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def remove(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def read(self, key: str) -> bytes | None:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except self.client.exceptions.NoSuchKey:
            return None

    def count(self, key: str | None = None) -> int | None:
        data = httpx.get(f"{self.endpoint}/__count").json()
        return int(data["total"] if key is None else data["by_key"].get(key, 0))


def file_origin(root: Path) -> OriginUnderTest:
    root.mkdir(parents=True, exist_ok=True)
    return DirOrigin("file", OriginSpec(url=f"file://{root}"), root)


def http_test_origin(base_url: str, served_root: Path) -> OriginUnderTest:
    prefix = f"t-{uuid.uuid4().hex[:10]}/"
    spec = OriginSpec(
        url=f"{base_url}/{prefix}", connect_timeout_seconds=2, read_timeout_seconds=10
    )
    return HttpOriginUnderTest("http", spec, served_root / prefix, base_url, prefix)


def s3_test_origin(endpoint: str) -> OriginUnderTest:
    os.environ.update(S3_ENV)
    bucket = f"b-{uuid.uuid4().hex[:16]}"
    spec = OriginSpec(
        url=f"s3://{bucket}",
        endpoint_url=endpoint,
        access_key_id_env="AC_TEST_S3_KEY",
        secret_access_key_env="AC_TEST_S3_SECRET",
        connect_timeout_seconds=2,
        read_timeout_seconds=10,
    )
    origin = S3OriginUnderTest("s3", spec, endpoint, bucket)
    origin.client.create_bucket(Bucket=bucket)
    return origin
