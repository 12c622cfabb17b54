"""HTTPS postbacks connect to the checked address yet verify the certificate of the host name."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from attribo.control import ControlPlane, DeliveryInfo
from attribo.postbacks import PostbackDispatcher, PostbackSettings

if TYPE_CHECKING:
    from conftest import Receiver

x509: Any = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

APP = "com.example.game"  # created by the `control` fixture
FAST = PostbackSettings(max_attempts=2, base_delay_s=0.05, max_delay_s=0.1, timeout_s=2.0,
                        poll_interval_s=0.05)  # fmt: skip


def _name(common: str) -> Any:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_pki(tmp: Path, host: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway CA and a server certificate for `host`: (server context, client context)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(_name("test CA")).issuer_name(_name("test CA"))
        .public_key(ca_key.public_key()).serial_number(1)
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(2)
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    (tmp / "server.pem").write_bytes(
        cert.public_bytes(pem)
        + key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp / "server.pem")
    client = ssl.create_default_context(cadata=ca.public_bytes(pem).decode("ascii"))
    return server, client


@pytest.fixture(params=["localhost", "wrong.example"])
def tls(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    make_receiver: Callable[[ssl.SSLContext | None], Receiver],
) -> tuple[str, Receiver, ssl.SSLContext]:
    """An HTTPS receiver on 127.0.0.1 whose certificate names `localhost` or another host."""
    server, client = make_pki(tmp_path, request.param)
    return request.param, make_receiver(server), client


async def settled(control: ControlPlane) -> DeliveryInfo:
    """Wait for the single delivery to leave `pending`."""
    deadline = time.monotonic() + 10
    while True:
        rows = control.postbacks.list_deliveries(APP)
        if rows and rows[0].status != "pending":
            return rows[0]
        assert time.monotonic() < deadline, rows
        await asyncio.sleep(0.02)


def test_https_checks_the_certificate_against_the_host_name(
    control: ControlPlane, tls: tuple[str, Receiver, ssl.SSLContext]
) -> None:
    cert_host, receiver, client_ctx = tls

    async def main() -> DeliveryInfo:
        async with PostbackDispatcher(control, FAST, verify=client_ctx) as d:
            url = f"https://localhost:{receiver.port}/pb?c={{click_id}}"
            await d.create_template(APP, "facebook", "install", url)
            await d.submit(APP, "install", {"event_id": "i1", "network": "facebook",
                                            "click_id": "k"})  # fmt: skip
            return await settled(control)

    row = asyncio.run(main())
    if cert_host == "localhost":
        assert (row.status, row.last_http_status) == ("delivered", 200)
        (got,) = receiver.requests
        assert (got.target, got.headers["host"]) == ("/pb?c=k", f"localhost:{receiver.port}")
    else:  # the address was pinned, but a certificate for another name is still refused
        assert row.status == "failed"
        assert row.last_error is not None and "CERTIFICATE_VERIFY_FAILED" in row.last_error
        assert receiver.requests == []
