"""What a certificate says: its names, issuer, expiry and fingerprint (pure, no hosts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class CertificateInfo:
    names: tuple[str, ...]
    issuer: str
    not_after: datetime
    # SHA-256 of the certificate (DER), as `openssl x509 -fingerprint -sha256` shows it.
    fingerprint: str


def inspect(pem: str | bytes) -> CertificateInfo:
    """The first certificate of a PEM chain; ValueError when there is none."""
    data = pem.encode() if isinstance(pem, str) else pem
    certificate = x509.load_pem_x509_certificates(data)[0]
    try:
        names = tuple(certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = tuple(str(a.value) for a in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
    issuer = certificate.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return CertificateInfo(
        names=names,
        issuer=str(issuer[0].value) if issuer else certificate.issuer.rfc4514_string(),
        not_after=certificate.not_valid_after_utc,
        fingerprint=certificate.fingerprint(hashes.SHA256()).hex(":").upper(),
    )


def matches_key(certificate_pem: str, key_pem: str) -> bool:
    """Whether the private key is the certificate's (ValueError when the key is no PEM key)."""
    certificate = x509.load_pem_x509_certificates(certificate_pem.encode())[0]
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(certificate.public_key().public_bytes(serialization.Encoding.DER, public)
                == key.public_key().public_bytes(serialization.Encoding.DER, public))


def covers(info: CertificateInfo, name: str) -> bool:
    """Whether the certificate is valid for host `name` (a wildcard covers one label)."""
    name = name.lower()
    for pattern in (n.lower() for n in info.names):
        if pattern == name or (pattern.startswith("*.") and name.partition(".")[2] == pattern[2:]):
            return True
    return False
