"""HTTPS with a certificate made in the test (Granian's TLS)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.conftest import EDGE_KEY, EdgeProcess, write_config


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_with_a_self_signed_certificate(
    tmp_path: Path, edge_factory: type[EdgeProcess]
) -> None:
    cert, key = self_signed(tmp_path)
    (tmp_path / "origin" / "e2e").mkdir(parents=True)
    (tmp_path / "origin" / "e2e" / "hello.txt").write_bytes(b"over TLS")
    config = write_config(tmp_path / "agentcache.toml", 'url = "file://origin"')
    config.write_text(f'[server]\ntls_cert = "{cert}"\ntls_key = "{key}"\n' + config.read_text())
    edge = edge_factory(config)
    edge.url = edge.url.replace("http://", "https://")
    edge.verify = ssl.create_default_context(cafile=str(cert))
    edge.start()
    with httpx.Client(verify=edge.verify) as client:
        response = client.get(
            f"{edge.url}/o/e2e/hello.txt", headers={"Authorization": f"Bearer {EDGE_KEY}"}
        )
        assert (response.status_code, response.content) == (200, b"over TLS")
    with pytest.raises(httpx.ConnectError):  # an untrusting client refuses the certificate
        httpx.get(f"{edge.url}/api/health")
