import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kamalnb.proxy.certificates import covers, inspect, matches_key

PEM = serialization.Encoding.PEM


def make(names: list[str], not_after: datetime.datetime = datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC)
         ) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(1)
                   .not_valid_before(datetime.datetime(2019, 1, 1, tzinfo=datetime.UTC))
                   .not_valid_after(not_after)
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
                   .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return certificate.public_bytes(PEM).decode(), key_pem


def test_what_a_certificate_says() -> None:
    certificate, key = make(["a.test", "*.b.test"])
    info = inspect(certificate)
    assert info.names == ("a.test", "*.b.test")
    assert info.issuer == "Test CA"
    assert info.not_after == datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC)
    der = x509.load_pem_x509_certificate(certificate.encode()).fingerprint(hashes.SHA256())
    assert info.fingerprint == der.hex(":").upper()
    assert [covers(info, name) for name in ("a.test", "A.TEST", "x.b.test", "y.x.b.test", "b.test")] == [
        True, True, True, False, False]
    assert matches_key(certificate, key)
    assert not matches_key(certificate, make(["a.test"])[1])
