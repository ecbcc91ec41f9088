"""An ACME CA for the sandbox: Debian's `pebble` (Let's Encrypt's test server) and its
`pebble-challtestsrv` as the DNS server that pebble asks, both on the sandbox's bridge
address, so certificates are issued and challenges checked without leaving the machine.

Pebble serves its directory over HTTPS with a certificate made here for the bridge address
(`ca.pem` is its root, what the proxy must trust); the certificates it issues chain to a root
it makes anew each start (`issuing_root()`). Tests say where a name points with `point()`.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kamalnb.errors import SandboxError
from kamalnb.sandbox.system import which

PEBBLE_PORT = 14000
PEBBLE_MANAGEMENT_PORT = 15000
DNS_PORT = 8053
DNS_MANAGEMENT_PORT = 8055
PACKAGE = "pebble"


@dataclass(frozen=True)
class Acme:
    address: str
    dir: str

    @property
    def directory(self) -> str:
        """The ACME directory URL (`x-kamalnb: proxy: acme_ca`)."""
        return f"https://{self.address}:{PEBBLE_PORT}/dir"

    @property
    def ca_root(self) -> Path:
        """The root of pebble's own HTTPS certificate (`x-kamalnb: proxy: acme_ca_root`)."""
        return Path(self.dir) / "ca.pem"

    def issuing_root(self) -> str:
        """The root the certificates pebble issues chain to (new at each pebble start)."""
        return self._get(f"https://{self.address}:{PEBBLE_MANAGEMENT_PORT}/roots/0")

    def point(self, name: str, *addresses: str) -> None:
        """Make pebble's DNS answer `name` with `addresses` only (where the CA checks challenges)."""
        # Adding appends to what the name had: clear it first.
        for path, body in (("clear-a", {"host": name}), ("add-a", {"host": name, "addresses": list(addresses)})):
            request = urllib.request.Request(f"http://{self.address}:{DNS_MANAGEMENT_PORT}/{path}",
                                             data=json.dumps(body).encode())
            with urllib.request.urlopen(request, timeout=5):
                pass

    def _get(self, url: str) -> str:
        context = ssl.create_default_context(cafile=str(self.ca_root))
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            return response.read().decode()


def check_installed() -> None:
    missing = [tool for tool in ("pebble", "pebble-challtestsrv") if which(tool) is None]
    if missing:
        raise SandboxError(f"the sandbox's ACME CA needs {' and '.join(missing)}: `apt-get install -y {PACKAGE}` "
                           "or run `scripts/install-deps`")


def write_files(directory: Path, address: str) -> None:
    """pebble's configuration, and a certificate for its HTTPS on `address` with its root."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kamalnb sandbox ACME server root")])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble")])).issuer_name(root_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address(address)), x509.DNSName("pebble")]), critical=False)
            .sign(root_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(root.public_bytes(pem))
    (directory / "pebble.pem").write_bytes(leaf.public_bytes(pem))
    (directory / "pebble.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (directory / "pebble.json").write_text(json.dumps({"pebble": {
        "listenAddress": f"{address}:{PEBBLE_PORT}",
        "managementListenAddress": f"{address}:{PEBBLE_MANAGEMENT_PORT}",
        "certificate": str(directory / "pebble.pem"),
        "privateKey": str(directory / "pebble.key"),
        # Where it checks HTTP-01 challenges: the hosts' port 80, as Let's Encrypt does.
        "httpPort": 80,
        "tlsPort": 443,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }}, indent=2))


def pebble_argv(directory: Path, address: str) -> list[str]:
    return ["pebble", "-config", str(directory / "pebble.json"), "-dnsserver", f"{address}:{DNS_PORT}"]


# No random sleeps before checking a challenge, no nonce rejected for testing clients' retries.
PEBBLE_ENV = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}


def dns_argv(address: str) -> list[str]:
    # Only the names `point()` sets get an answer (no default address, no IPv6).
    return ["pebble-challtestsrv", "-defaultIPv4", "", "-defaultIPv6", "",
            "-dns01", f"{address}:{DNS_PORT}", "-http01", "", "-https01", "", "-tlsalpn01", "",
            "-management", f"{address}:{DNS_MANAGEMENT_PORT}"]
