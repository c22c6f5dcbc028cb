"""Certificates for the local control plane.

kube-apiserver serves TLS and authenticates clients by certificate, as in a real
cluster. We mint a throw-away CA, a serving certificate for 127.0.0.1/localhost and
the in-cluster service IP, an admin client certificate (``O=system:masters``), and the
RSA key pair that signs service-account tokens. Keys are small-but-sane RSA 2048 and
valid for a day; nothing here outlives the stack's temp dir.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=1)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


@dataclass(frozen=True)
class CertFiles:
    """Paths of one certificate and its key (PEM)."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class ClusterPKI:
    """Everything the control plane and its clients need, written under one directory."""

    ca: CertFiles
    serving: CertFiles
    admin: CertFiles
    sa_key: Path
    sa_pub: Path


class _Issuer:
    def __init__(self) -> None:
        self.key = _key()
        self.name = _name("crestline-local-ca")
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )

    def issue(
        self,
        subject: x509.Name,
        usage: x509.ObjectIdentifier,
        sans: list[x509.GeneralName] | None = None,
    ) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        key = _key()
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(self.key, hashes.SHA256()), key


def _write(directory: Path, stem: str, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> CertFiles:
    files = CertFiles(directory / f"{stem}.crt", directory / f"{stem}.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(_key_pem(key))
    files.key.chmod(0o600)
    return files


def _loopback_sans() -> list[x509.GeneralName]:
    return [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]


@dataclass(frozen=True)
class ServingPKI:
    """A CA of its own and one loopback serving certificate it signed."""

    ca: CertFiles
    serving: CertFiles


def make_serving_pki(directory: Path, cn: str) -> ServingPKI:
    """A separate CA and a 127.0.0.1/localhost serving certificate, e.g. for a
    Prometheus behind TLS: clients must be given this CA, not the cluster's."""
    directory.mkdir(parents=True, exist_ok=True)
    issuer = _Issuer()
    ca = _write(directory, "ca", issuer.cert, issuer.key)
    serving = _write(
        directory,
        "serving",
        *issuer.issue(_name(cn), ExtendedKeyUsageOID.SERVER_AUTH, _loopback_sans()),
    )
    return ServingPKI(ca=ca, serving=serving)


def make_cluster_pki(directory: Path, service_ip: str = "10.0.0.1") -> ClusterPKI:
    """Create the CA, serving and admin certificates and the service-account key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    issuer = _Issuer()
    ca = _write(directory, "ca", issuer.cert, issuer.key)

    sans: list[x509.GeneralName] = [
        *_loopback_sans(),
        x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default"),
        x509.DNSName("kubernetes.default.svc"),
        x509.IPAddress(ipaddress.ip_address(service_ip)),
    ]
    serving = _write(
        directory,
        "apiserver",
        *issuer.issue(_name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, sans),
    )
    admin = _write(
        directory,
        "admin",
        *issuer.issue(_name("admin", "system:masters"), ExtendedKeyUsageOID.CLIENT_AUTH),
    )

    sa = _key()
    sa_key = directory / "sa.key"
    sa_pub = directory / "sa.pub"
    sa_key.write_bytes(_key_pem(sa))
    sa_key.chmod(0o600)
    sa_pub.write_bytes(
        sa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return ClusterPKI(ca=ca, serving=serving, admin=admin, sa_key=sa_key, sa_pub=sa_pub)
