"""The Ingress's certificate: made on the host at deploy time, never committed.

The overlay's Ingress names a `kubernetes.io/tls` Secret for the drawing's ingress host
(manifests/components/ingress/ingress.yaml, `spec.tls`). The testbed makes a self-signed CA and
a server certificate for that host, keeps them in its cache (`<cache>/tls`, outside the
repository) and reuses them while they stay valid; a certificate near its end, or for another
host, is made anew with a new CA. The Secret holds the server's key and certificate; the CA's
certificate stays on the host (`ca.crt`) for clients to verify against, and the CA's key is
dropped once it has signed: nothing else is ever signed by it.

The Secret goes into the cluster before the manifests are applied (with the namespace it lives
in), so that the Ingress never names a Secret that is not there.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from testbed.settings import DRAWING, REPO
from testbed.shell import progress

#: How long a new certificate is valid, and how close to its end it is made anew (so that no
#: run starts with a certificate that could expire before the run ends).
VALID_FOR = timedelta(days=90)
RENEW_WITHIN = timedelta(days=7)
#: The files in the certificate directory: the CA clients trust, the server's pair.
CA_FILE, CERT_FILE, KEY_FILE = "ca.crt", "tls.crt", "tls.key"
#: What `kubectl(*args, timeout=..., stdin=...)` of a Testbed does.
Kubectl = Callable[..., str]
Obj = dict[str, Any]


@dataclass(frozen=True)
class Certificate:
    """Where the host keeps the Ingress's certificate."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / CA_FILE

    @property
    def cert(self) -> Path:
        return self.directory / CERT_FILE

    @property
    def key(self) -> Path:
        return self.directory / KEY_FILE


def directory(cache: Path) -> Certificate:
    """The certificate kept in the testbed's cache directory."""
    return Certificate(cache / "tls")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*allowed: str) -> x509.KeyUsage:
    """A KeyUsage extension allowing `allowed` and nothing else."""
    every = (
        "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
        "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
    )  # fmt: skip
    return x509.KeyUsage(**{usage: usage in allowed for usage in every})


def issue(host: str, now: datetime) -> tuple[bytes, bytes, bytes]:
    """A new CA certificate, and a server certificate and key for `host` signed by it (PEM)."""
    not_before, not_after = now - timedelta(minutes=5), now + VALID_FOR
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"demo-micro testbed CA for {host}")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage("key_cert_sign", "crl_sign"), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage("digital_signature"), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem = serialization.Encoding.PEM
    return ca.public_bytes(pem), server.public_bytes(pem), key_pem


def names(cert_pem: bytes) -> list[str]:
    """The DNS names a certificate is for (its subjectAltName)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return san.get_values_for_type(x509.DNSName)


def client_context(ca: Path) -> ssl.SSLContext:
    """A client's TLS context that trusts `ca` alone and checks the server's host name."""
    return ssl.create_default_context(cafile=str(ca))


def stale(certificate: Certificate, host: str, now: datetime) -> str:
    """Why the kept certificate cannot be reused for `host` at `now` ("" when it can)."""
    files = (certificate.ca, certificate.cert, certificate.key)
    missing = [path.name for path in files if not path.exists()]
    if missing:
        return f"no {', '.join(missing)} in {certificate.directory}"
    cert = x509.load_pem_x509_certificate(certificate.cert.read_bytes())
    if host not in names(certificate.cert.read_bytes()):
        return f"it is for {names(certificate.cert.read_bytes())}, not {host}"
    if cert.not_valid_after_utc - now <= RENEW_WITHIN:
        return f"it expires {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    ca = x509.load_pem_x509_certificate(certificate.ca.read_bytes())
    try:
        cert.verify_directly_issued_by(ca)
    except (InvalidSignature, ValueError, TypeError) as not_issued:
        return f"{CA_FILE} did not issue it ({type(not_issued).__name__})"
    return ""


def ensure(certificate: Certificate, host: str, now: datetime | None = None) -> bool:
    """The kept certificate for `host`, made anew when it cannot be reused; True if made."""
    if certificate.directory.resolve().is_relative_to(REPO):
        raise ValueError(
            f"the Ingress's private key would be written to {certificate.directory}, inside the "
            f"repository {REPO}: set DEMO_MICRO_CACHE to a directory outside it"
        )
    now = now or datetime.now(UTC)
    why = stale(certificate, host, now)
    if not why:
        return False
    progress(f"making the Ingress's certificate for {host}: {why}")
    ca, cert, key = issue(host, now)
    certificate.directory.mkdir(parents=True, exist_ok=True)
    certificate.key.touch(mode=0o600)
    certificate.key.chmod(0o600)
    certificate.key.write_bytes(key)
    certificate.cert.write_bytes(cert)
    certificate.ca.write_bytes(ca)
    return True


def tls_secret_name(objects: Sequence[Obj], host: str) -> str | None:
    """The Secret the rendered Ingresses name for `host` in `spec.tls` (None: no TLS for it)."""
    for ingress in (o for o in objects if o.get("kind") == "Ingress"):
        for entry in ingress["spec"].get("tls") or []:
            if host in (entry.get("hosts") or []):
                if not entry.get("secretName"):
                    raise ValueError(f"Ingress/{ingress['metadata']['name']}'s TLS names no Secret")
                return str(entry["secretName"])
    return None


def secret(name: str, namespace: str, certificate: Certificate) -> Obj:
    """The `kubernetes.io/tls` Secret holding the kept certificate and key."""

    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": b64(certificate.cert), "tls.key": b64(certificate.key)},
    }


def install(kubectl: Kubectl, overlay: Path, cache: Path, namespace: str) -> None:
    """Before the overlay's manifests: the Secret its Ingress names for the drawing's host, in
    `namespace`, with the namespace itself (nothing when the overlay's Ingress has no TLS)."""
    rendered = [o for o in yaml.safe_load_all(kubectl("kustomize", str(overlay))) if o]
    host = DRAWING.ingress.host
    name = tls_secret_name(rendered, host)
    if name is None:
        return
    certificate = directory(cache)
    ensure(certificate, host)
    namespaces = [o for o in rendered if o["kind"] == "Namespace"]
    documents = [*namespaces, secret(name, namespace, certificate)]
    kubectl("apply", "-f", "-", stdin="\n---\n".join(json.dumps(d) for d in documents).encode())
    progress(f"Secret {namespace}/{name}: the Ingress's certificate for {host}")
