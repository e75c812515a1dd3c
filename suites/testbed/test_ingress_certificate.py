"""The Ingress's certificate the testbed makes (testbed/tls.py): for the drawing's host, signed
by a CA a client can verify against, kept outside the repository, reused while valid and made
anew when near its end or for another host; its Secret applied, with its namespace, before the
manifests. The Secret in the cluster and the served certificate are checked live
(suites/conformance/test_ingress_https.py)."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from testbed import tls
from testbed.cluster import Testbed
from testbed.settings import DRAWING, REPO, Settings

HOST = DRAWING.ingress.host
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def handshake(certificate: tls.Certificate, ca: Path, server_name: str) -> None:
    """A TLS handshake between a server with the kept pair and a client trusting `ca` only,
    over a socket pair; raises ssl.SSLError when the client refuses the server."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certificate.cert, certificate.key)
    server_end, client_end = socket.socketpair()
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            with server_context.wrap_socket(server_end, server_side=True):
                pass
        except (ssl.SSLError, OSError) as error:
            errors.append(error)  # the client's refusal, seen from the server

    server = threading.Thread(target=serve)
    server.start()
    try:
        with tls.client_context(ca).wrap_socket(client_end, server_hostname=server_name):
            pass
    finally:
        client_end.close()
        server.join(timeout=10)


@pytest.fixture
def kept(tmp_path: Path) -> tls.Certificate:
    certificate = tls.directory(tmp_path)
    assert tls.ensure(certificate, HOST, NOW)
    return certificate


def test_the_certificate_is_for_the_drawings_host(kept: tls.Certificate) -> None:
    assert tls.names(kept.cert.read_bytes()) == [HOST]


def test_a_client_trusting_the_kept_ca_accepts_the_server_for_the_host(
    kept: tls.Certificate,
) -> None:
    handshake(kept, kept.ca, HOST)  # raises if refused


def test_negative_control_a_client_trusting_another_ca_refuses_the_server(
    kept: tls.Certificate, tmp_path: Path
) -> None:
    # arrange: a second, unrelated CA
    other = tls.directory(tmp_path / "other")
    tls.ensure(other, HOST, NOW)
    # act / assert
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(kept, other.ca, HOST)


def test_negative_control_a_client_asking_for_another_host_refuses_the_server(
    kept: tls.Certificate,
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        handshake(kept, kept.ca, "not-demo-micro.example")


def test_the_private_key_is_readable_by_its_owner_only(kept: tls.Certificate) -> None:
    assert kept.key.stat().st_mode & 0o777 == 0o600


def test_the_certificate_is_reused_while_valid(kept: tls.Certificate) -> None:
    before = {path: path.read_bytes() for path in (kept.ca, kept.cert, kept.key)}
    almost_due = NOW + tls.VALID_FOR - tls.RENEW_WITHIN - (tls.RENEW_WITHIN / 7)
    assert not tls.ensure(kept, HOST, almost_due)
    assert {path: path.read_bytes() for path in before} == before


def test_a_certificate_near_its_end_is_made_anew(kept: tls.Certificate) -> None:
    old = kept.cert.read_bytes()
    due = NOW + tls.VALID_FOR - tls.RENEW_WITHIN
    assert tls.stale(kept, HOST, due).startswith("it expires")
    assert tls.ensure(kept, HOST, due)
    renewed = x509.load_pem_x509_certificate(kept.cert.read_bytes())
    assert kept.cert.read_bytes() != old
    assert renewed.not_valid_after_utc == due + tls.VALID_FOR


def test_a_certificate_for_another_host_is_made_anew(kept: tls.Certificate) -> None:
    assert tls.ensure(kept, "shop.example.test", NOW)
    assert tls.names(kept.cert.read_bytes()) == ["shop.example.test"]


def test_a_certificate_another_ca_signed_is_made_anew(
    kept: tls.Certificate, tmp_path: Path
) -> None:
    other = tls.directory(tmp_path / "other")
    tls.ensure(other, HOST, NOW)
    kept.ca.write_bytes(other.ca.read_bytes())
    assert "did not issue it" in tls.stale(kept, HOST, NOW)


def test_a_missing_key_is_made_anew(kept: tls.Certificate) -> None:
    kept.key.unlink()
    assert tls.stale(kept, HOST, NOW) == f"no tls.key in {kept.directory}"
    assert tls.ensure(kept, HOST, NOW)


def test_the_key_is_never_written_into_the_repository() -> None:
    # the default place is the cache, outside the repository
    assert not tls.directory(Settings().cache).directory.resolve().is_relative_to(REPO)
    # and a cache inside it is refused before anything is written
    inside = tls.directory(REPO / "reports" / "cache")
    with pytest.raises(ValueError, match="inside the repository"):
        tls.ensure(inside, HOST, NOW)
    assert not inside.directory.exists()


INGRESS = {
    "kind": "Ingress",
    "metadata": {"name": "api-gateway"},
    "spec": {"tls": [{"hosts": [HOST], "secretName": "api-gateway-tls"}]},
}


def test_the_secret_is_the_one_the_ingress_names_for_the_host() -> None:
    assert tls.tls_secret_name([INGRESS], HOST) == "api-gateway-tls"
    assert tls.tls_secret_name([INGRESS], "shop.example.test") is None


def test_an_ingress_tls_entry_without_a_secret_is_refused() -> None:
    entry = {"hosts": [HOST]}
    broken = {**INGRESS, "spec": {"tls": [entry]}}
    with pytest.raises(ValueError, match="Ingress/api-gateway's TLS names no Secret"):
        tls.tls_secret_name([broken], HOST)


class RecordingKubectl:
    """Renders a namespace and the Ingress; records every other call."""

    RENDERED = yaml.safe_dump_all([{"kind": "Namespace", "metadata": {"name": "ns"}}, INGRESS])

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[str, ...], bytes | None]] = []

    def __call__(self, *args: str, timeout: float = 120, stdin: bytes | None = None) -> str:
        self.calls.append((args, stdin))
        return self.RENDERED if args[0] == "kustomize" else ""


def test_deploying_applies_the_namespace_and_secret_before_the_manifests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # arrange: a testbed whose kubectl is recorded and whose Traefik step does nothing
    kubectl = RecordingKubectl()
    testbed = Testbed(Settings(cache=tmp_path, mode="online"))
    monkeypatch.setattr(testbed, "kubectl", kubectl)
    monkeypatch.setattr("testbed.ingress_namespaces.serve", lambda *_: None)

    # act
    testbed.apply_manifests()

    # assert: render, the Secret with its namespace, then the manifests
    assert [args[:2] for args, _ in kubectl.calls] == [
        ("kustomize", str(testbed.overlay)),
        ("apply", "-f"),
        ("apply", "-k"),
    ]
    stdin = kubectl.calls[1][1]
    assert stdin is not None
    namespace, secret = [json.loads(d) for d in stdin.decode().split("\n---\n")]
    assert namespace["kind"] == "Namespace"
    assert (secret["kind"], secret["type"]) == ("Secret", "kubernetes.io/tls")
    assert secret["metadata"] == {"name": "api-gateway-tls", "namespace": DRAWING.namespace}
    kept = tls.directory(tmp_path)
    assert base64.b64decode(secret["data"]["tls.crt"]) == kept.cert.read_bytes()
    assert base64.b64decode(secret["data"]["tls.key"]) == kept.key.read_bytes()
