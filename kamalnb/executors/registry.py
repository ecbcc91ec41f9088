"""Ask a registry, from this machine, whether an image tag is there (Docker Registry HTTP API v2).

No Docker is needed here: `HEAD /v2/<repository>/manifests/<tag>`, with the registry's token
or basic authentication and the credentials the hosts log in with. HTTPS first; plain HTTP
only when the registry does not speak TLS at all (a registry Docker calls insecure).
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import ssl
import urllib.parse
from dataclasses import dataclass

DOCKER_HUB = "registry-1.docker.io"
MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryUnavailable(Exception):
    """The registry could not be asked (unreachable, refused the credentials, answered nonsense)."""


@dataclass(frozen=True)
class ImageRef:
    server: str
    repository: str
    tag: str

    @classmethod
    def parse(cls, server: str | None, image: str, tag: str) -> ImageRef:
        if server:
            return cls(server, image, tag)
        # Docker Hub: a bare name is an official image under `library/`.
        return cls(DOCKER_HUB, image if "/" in image else f"library/{image}", tag)

    @property
    def path(self) -> str:
        return f"/v2/{self.repository}/manifests/{self.tag}"


def manifest_exists(ref: ImageRef, username: str | None, password: str | None, *, timeout: float = 10.0) -> bool:
    """True when the tag is in the registry, False when the registry says it is not."""
    try:
        return _ask(ref, "https", username, password, timeout)
    except ssl.SSLCertVerificationError as error:
        raise RegistryUnavailable(f"{ref.server}'s certificate is not trusted: {error.verify_message}") from None
    except (ssl.SSLError, ConnectionRefusedError):
        return _ask(ref, "http", username, password, timeout)


def _ask(ref: ImageRef, scheme: str, username: str | None, password: str | None, timeout: float) -> bool:
    response, _ = _request(scheme, ref.server, "HEAD", ref.path, {"Accept": MANIFEST_TYPES}, timeout)
    if response.status == 401:
        authorization = _authorization(response.getheader("WWW-Authenticate") or "", ref, username, password, timeout)
        response, _ = _request(scheme, ref.server, "HEAD", ref.path,
                            {"Accept": MANIFEST_TYPES, "Authorization": authorization}, timeout)
    if response.status == 200:
        return True
    if response.status == 404:
        return False
    if response.status in (401, 403):
        raise RegistryUnavailable(f"{ref.server} refused the registry credentials (HTTP {response.status})")
    raise RegistryUnavailable(f"{ref.server} answered HTTP {response.status} {response.reason}")


def _authorization(challenge: str, ref: ImageRef, username: str | None, password: str | None,
                   timeout: float) -> str:
    basic = "Basic " + base64.b64encode(f"{username or ''}:{password or ''}".encode()).decode()
    scheme = challenge.split(" ", 1)[0].lower()
    if scheme == "basic":
        return basic
    if scheme != "bearer":
        raise RegistryUnavailable(f"{ref.server} asks for an authentication kamalnb does not speak: {challenge[:80]}")
    fields = dict(_CHALLENGE.findall(challenge))
    realm = urllib.parse.urlsplit(fields.get("realm", ""))
    if realm.scheme not in ("http", "https") or not realm.netloc:
        raise RegistryUnavailable(f"{ref.server} sent no token address: {challenge[:80]}")
    query = {"service": fields.get("service", ""), "scope": fields.get("scope", f"repository:{ref.repository}:pull")}
    path = f"{realm.path or '/'}?{urllib.parse.urlencode(query)}"
    headers = {"Authorization": basic} if username else {}
    response, body = _request(realm.scheme, realm.netloc, "GET", path, headers, timeout)
    if response.status != 200:
        raise RegistryUnavailable(f"{ref.server}'s token service answered HTTP {response.status}: "
                                  "check registry/username and registry/password")
    try:
        answer = json.loads(body)
        token = answer.get("token") or answer["access_token"]
    except (ValueError, KeyError, AttributeError):
        raise RegistryUnavailable(f"{ref.server}'s token service answered without a token") from None
    return f"Bearer {token}"


def _request(scheme: str, netloc: str, method: str, path: str, headers: dict[str, str],
             timeout: float) -> tuple[http.client.HTTPResponse, bytes]:
    connection: http.client.HTTPConnection = (
        http.client.HTTPSConnection(netloc, timeout=timeout, context=ssl.create_default_context())
        if scheme == "https" else http.client.HTTPConnection(netloc, timeout=timeout))
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response, response.read()
    except (ssl.SSLError, ConnectionRefusedError):
        if scheme == "https":
            raise
        raise RegistryUnavailable(f"cannot reach {netloc}: connection refused") from None
    except (OSError, http.client.HTTPException) as error:
        reason = "timed out" if isinstance(error, TimeoutError) else (str(error) or type(error).__name__)
        raise RegistryUnavailable(f"cannot reach {netloc}: {reason}") from None
    finally:
        connection.close()
