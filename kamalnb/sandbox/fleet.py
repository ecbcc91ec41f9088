"""A lab fleet of real hosts on one Linux machine.

Each host is a network namespace on a bridge, with a mount namespace of its own (its own
`/root`, where Kamal keeps its state) and its own OpenSSH server and Docker engine started
inside both. Beside them: a registry on the bridge address and a "laptop" Docker engine in
the root namespace for builds. Everything the sandbox starts is recorded under its state
directory, so `down` (or an `up` after a crash) finds and removes all of it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import shlex
import shutil
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from kamalnb.errors import SandboxError
from kamalnb.sandbox import DEFAULT_NAME, acme, images, sample_app
from kamalnb.sandbox.acme import Acme
from kamalnb.sandbox.system import (
    check_prerequisites,
    ok,
    pid_alive,
    pids_in_cgroup,
    read_pid,
    remove_cgroups,
    run,
    start_daemon,
    terminate,
    unmount_below,
    wait_for,
)

ROOT = Path(os.environ.get("KAMALNB_SANDBOX_ROOT", "/var/lib/kamalnb"))
DEFAULT_SUBNET = "10.231.0.0/24"
REGISTRY_PORT = 5000
FIRST_HOST_OFFSET = 11
# The laptop engine's containers: .224 to .255 of the subnet, above every host.
LAPTOP_ADDRESSES_OFFSET = 224


@dataclass(frozen=True)
class SandboxHost:
    name: str
    address: str
    netns: str
    veth: str
    dir: str

    @property
    def path(self) -> Path:
        return Path(self.dir)

    @property
    def docker_socket(self) -> Path:
        return self.path / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.docker_socket}"

    @property
    def mount_ns(self) -> Path:
        return self.path.parent.parent / "ns" / f"{self.name}.mnt"

    @property
    def uts_ns(self) -> Path:
        return self.path.parent.parent / "ns" / f"{self.name}.uts"

    @property
    def enter(self) -> list[str]:
        """nsenter's arguments to run a program on this host (its sshd and dockerd)."""
        return ["nsenter", f"--mount={self.mount_ns}", f"--uts={self.uts_ns}", f"--net=/var/run/netns/{self.netns}"]

    @property
    def home(self) -> Path:
        """The host's `/root`, seen from the root namespace."""
        return self.path / "root"

    @property
    def cgroup(self) -> str:
        return f"kamalnb-{Path(self.dir).parent.parent.name}-{self.name}"


def _tag(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:6]


def _valid_name(name: str) -> str:
    if not name or not all(c.isalnum() or c in "-_" for c in name) or len(name) > 32:
        raise SandboxError(f"invalid sandbox name {name!r}: use up to 32 letters, digits, '-' or '_'")
    return name


class Sandbox:
    """A sandbox fleet: `Sandbox(...).up()`, `Sandbox.find()`, `.status()`, `.down()`."""

    def __init__(self, name: str = DEFAULT_NAME, hosts: int = 3, subnet: str | None = None,
                 root: Path | str | None = None) -> None:
        self.name = _valid_name(name)
        if not 1 <= hosts <= 50:
            raise SandboxError(f"--hosts must be between 1 and 50, not {hosts}")
        self.host_count = hosts
        self.root = Path(root) if root else ROOT
        self.dir = self.root / self.name
        self._subnet = subnet

    # ---- finding a sandbox again -------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    @classmethod
    def find(cls, name: str = DEFAULT_NAME, root: Path | str | None = None) -> Sandbox:
        """The sandbox `name` as recorded by its last `up`."""
        sandbox = cls(name, root=root)
        state = sandbox._state()
        if not state:
            raise SandboxError(f"no sandbox named {name!r}: start one with `kamalnb sandbox up --name {name}`")
        sandbox.host_count = len(state["hosts"])
        sandbox._subnet = state["subnet"]
        return sandbox

    def _state(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        state = self._state()
        if state:
            return ipaddress.IPv4Network(state["subnet"])
        return self._choose_subnet()

    def _choose_subnet(self) -> ipaddress.IPv4Network:
        if self._subnet:
            try:
                network = ipaddress.IPv4Network(self._subnet)
            except ValueError as error:
                raise SandboxError(f"--subnet {self._subnet!r} is not an IPv4 network ({error})") from None
            if network.num_addresses < 256:  # hosts from .11, the laptop's containers from .224
                raise SandboxError(f"--subnet {network} is too small for {self.host_count} hosts; use a /24")
            return network
        taken = {s["subnet"] for s in self._all_states()}
        used = _addresses_in_use()
        for third in range(0, 256):
            network = ipaddress.IPv4Network(f"10.231.{third}.0/24")
            if (str(network) not in taken and not any(a in network for a in used)
                    and (self.name == DEFAULT_NAME or str(network) != DEFAULT_SUBNET)):
                return network
        raise SandboxError("no free 10.231.x.0/24 subnet: pass --subnet")

    def _all_states(self) -> list[dict]:
        states = []
        if self.root.is_dir():
            for path in self.root.glob("*/state.json"):
                if path.parent.name != self.name:
                    try:
                        states.append(json.loads(path.read_text()))
                    except (OSError, ValueError):
                        pass
        return states

    # ---- layout ------------------------------------------------------------------------

    @property
    def gateway(self) -> str:
        return str(self.subnet.network_address + 1)

    @property
    def bridge(self) -> str:
        return f"kb{_tag(self.name)}"

    @property
    def hosts(self) -> list[SandboxHost]:
        state = self._state()
        if state:
            return [SandboxHost(**h) for h in state["hosts"]]
        return self._planned_hosts()

    def _planned_hosts(self) -> list[SandboxHost]:
        network = self._choose_subnet()
        tag = _tag(self.name)
        return [
            SandboxHost(
                name=f"h{i}",
                address=str(network.network_address + FIRST_HOST_OFFSET + i - 1),
                netns=f"kamalnb-{self.name}-h{i}",
                veth=f"kv{tag}h{i}",
                dir=str(self.dir / "hosts" / f"h{i}"),
            )
            for i in range(1, self.host_count + 1)
        ]

    def host(self, name_or_address: str) -> SandboxHost:
        for host in self.hosts:
            if name_or_address in (host.name, host.address):
                return host
        raise SandboxError(f"no host {name_or_address!r} in sandbox {self.name!r}")

    user = "root"

    @property
    def ssh_key(self) -> Path:
        return self.dir / "ssh" / "id_ed25519"

    @property
    def ssh_config(self) -> Path:
        return self.dir / "ssh" / "config"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "ssh" / "known_hosts"

    @property
    def registry(self) -> str:
        return f"{self.gateway}:{REGISTRY_PORT}"

    @property
    def laptop_socket(self) -> Path:
        return self.dir / "laptop" / "docker.sock"

    @property
    def laptop_docker_host(self) -> str:
        return f"unix://{self.laptop_socket}"

    @property
    def app_dir(self) -> Path:
        return self.dir / "sample-app"

    @property
    def base_image(self) -> str:
        return f"{self.registry}/{images.BASE_REPOSITORY}:{images.BASE_TAG}"

    @property
    def proxy_image(self) -> str:
        return f"{self.registry}/{images.PROXY_REPOSITORY}:{images.caddy_version()}"

    @property
    def redis_image(self) -> str:
        """The sample app's accessory: Debian's redis-server, as an image in the registry."""
        return f"{self.registry}/{images.REDIS_REPOSITORY}:{images.redis_version()}"

    # ---- running docker and ssh against it ---------------------------------------------

    def laptop_docker(self, *args: str, check: bool = True, cwd: Path | str | None = None
                      ) -> subprocess.CompletedProcess[str]:
        return run(["docker", *args], check=check, cwd=cwd, env={"DOCKER_HOST": self.laptop_docker_host})

    def host_docker(self, host: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Docker on one host's engine, straight from the root namespace (for tests and status)."""
        return run(["docker", *args], check=check, env={"DOCKER_HOST": self.host(host).docker_host})

    def ssh_argv(self, host: str, command: str) -> list[str]:
        return ["ssh", "-F", str(self.ssh_config), f"{self.user}@{self.host(host).address}", command]

    # ---- up ----------------------------------------------------------------------------

    def running(self) -> bool:
        state = self._state()
        if not state:
            return False
        pids = [state.get("registry_pid"), state.get("laptop_pid")]
        for host in self.hosts:
            pids += [read_pid(host.path / "sshd.pid"), read_pid(host.path / "dockerd.pid")]
            if not Path(f"/var/run/netns/{host.netns}").exists():
                return False
        return all(pid_alive(pid) for pid in pids) and bool(state.get("images_ready"))

    def up(self) -> Sandbox:
        """Start the fleet; a no-op when it already runs, a clean restart after a crash."""
        check_prerequisites()
        if self.running() and len(self.hosts) == self.host_count:
            # A fleet started by an older kamalnb gets the images and sample app files it lacks.
            images.build_and_push(self)
            sample_app.ensure(self)
            return self
        self._remove_runtime()
        self.state_file.unlink(missing_ok=True)
        hosts = self._planned_hosts()
        subnet = self._choose_subnet()
        self._subnet = str(subnet)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._ensure_ssh_key()
        state: dict = {"name": self.name, "subnet": str(subnet), "bridge": self.bridge,
                       "hosts": [asdict(h) for h in hosts]}
        # Record what exists as soon as it exists: a failure half-way is cleaned by down.
        self._write_state(state)
        try:
            self._create_bridge(subnet)
            state["registry_pid"] = self._start_registry()
            state["laptop_pid"] = self._start_laptop()
            self._write_state(state)
            self._prepare_mount_root()
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda h: self._start_host(h, subnet), hosts))
            self._write_ssh_client_files(hosts)
            wait_for(lambda: ok(["docker", "-H", f"unix://{self.laptop_socket}", "version"]), 60,
                     "the laptop Docker engine")
            images.build_and_push(self)
            sample_app.ensure(self)
            state["images_ready"] = True
            self._write_state(state)
        except BaseException:
            self.down()
            raise
        return self

    def _write_state(self, state: dict) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)

    def _ensure_ssh_key(self) -> None:
        self.ssh_key.parent.mkdir(parents=True, exist_ok=True)
        if not self.ssh_key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"kamalnb-sandbox-{self.name}",
                 "-f", str(self.ssh_key)])

    def _create_bridge(self, subnet: ipaddress.IPv4Network) -> None:
        run(["ip", "link", "add", self.bridge, "type", "bridge"])
        run(["ip", "addr", "add", f"{self.gateway}/{subnet.prefixlen}", "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])
        # A Docker engine in the root namespace may set FORWARD to DROP, and with bridge
        # netfilter on that drops host-to-host traffic across this bridge.
        rule = ["FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT"]
        if not ok(["iptables", "-C", *rule]):
            run(["iptables", "-I", *rule], check=False)

    def _start_registry(self) -> int:
        registry = self.dir / "registry"
        (registry / "data").mkdir(parents=True, exist_ok=True)
        config = registry / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {registry / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.gateway}:{REGISTRY_PORT}\n"
        )
        pid = start_daemon(["docker-registry", "serve", str(config)], registry / "registry.log")
        wait_for(lambda: _port_open(self.gateway, REGISTRY_PORT), 30, f"the registry at {self.registry}")
        return pid

    def _dockerd_argv(self, directory: Path, cgroup: str) -> list[str]:
        return [
            "dockerd",
            "--host", f"unix://{directory / 'docker.sock'}",
            "--data-root", str(directory / "docker"),
            "--exec-root", str(directory / "x"),
            "--pidfile", str(directory / "dockerd.pid"),
            "--insecure-registry", self.registry,
            "--cgroup-parent", f"/{cgroup}",
        ]

    def _start_laptop(self) -> int:
        laptop = self.dir / "laptop"
        laptop.mkdir(parents=True, exist_ok=True)
        # The sandbox's bridge, with addresses of its own at the top of the subnet, and no
        # iptables: the laptop must not touch the root namespace's firewall or a docker0
        # another engine may own. A published port (Kamal's local registry) is then served by
        # Docker's userland proxy on this machine's loopback.
        subnet = ipaddress.IPv4Network(self._choose_subnet())
        laptop_range = ipaddress.IPv4Network(f"{subnet.network_address + LAPTOP_ADDRESSES_OFFSET}/27")
        argv = [*self._dockerd_argv(laptop, f"kamalnb-{self.name}-laptop"),
                "--bridge", self.bridge, "--fixed-cidr", str(laptop_range),
                "--iptables=false", "--ip-masq=false"]
        return start_daemon(argv, laptop / "dockerd.log")

    def _prepare_mount_root(self) -> None:
        ns_dir = self.dir / "ns"
        ns_dir.mkdir(parents=True, exist_ok=True)
        # A persistent mount namespace can only be bound to a file on a private mount.
        run(["mount", "--bind", str(ns_dir), str(ns_dir)])
        run(["mount", "--make-private", str(ns_dir)])

    def _start_host(self, host: SandboxHost, subnet: ipaddress.IPv4Network) -> None:
        path = host.path
        (host.home / ".ssh").mkdir(parents=True, exist_ok=True)
        os.chmod(host.home, 0o700)
        pub = self.ssh_key.with_suffix(".pub").read_text()
        (host.home / ".ssh" / "authorized_keys").write_text(pub)
        host_key = path / "ssh_host_ed25519_key"
        if not host_key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.address, "-f", str(host_key)])

        run(["ip", "netns", "add", host.netns])
        run(["ip", "link", "add", host.veth, "type", "veth", "peer", "name", f"{host.veth}p"])
        run(["ip", "link", "set", f"{host.veth}p", "netns", host.netns])
        run(["ip", "link", "set", host.veth, "master", self.bridge])
        run(["ip", "link", "set", host.veth, "up"])
        netns = ["ip", "-n", host.netns]
        run([*netns, "link", "set", f"{host.veth}p", "name", "eth0"])
        run([*netns, "addr", "add", f"{host.address}/{subnet.prefixlen}", "dev", "eth0"])
        run([*netns, "link", "set", "eth0", "up"])
        run([*netns, "link", "set", "lo", "up"])
        run([*netns, "route", "add", "default", "via", self.gateway])

        host.mount_ns.touch()
        host.uts_ns.touch()
        # Its own hostname too, so `hostname` and `docker info` tell the hosts apart.
        run(["unshare", f"--mount={host.mount_ns}", f"--uts={host.uts_ns}", "--propagation", "slave",
             "sh", "-c", f"mount --bind {shlex.quote(str(host.home))} /root && hostname {host.name}"])

        (path / "sshd_config").write_text(
            f"ListenAddress {host.address}:22\n"
            f"HostKey {host_key}\n"
            f"PidFile {path / 'sshd.pid'}\n"
            "UsePAM no\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "AuthorizedKeysFile .ssh/authorized_keys\n"
            # One deploy opens many channels on one connection.
            "MaxSessions 200\n"
            "MaxStartups 100:30:200\n"
            "AllowTcpForwarding yes\n"
            "Subsystem sftp internal-sftp\n"
            f"SetEnv DOCKER_HOST={host.docker_host}\n"
        )
        Path("/run/sshd").mkdir(exist_ok=True)
        self._start_sshd(host)
        start_daemon([*host.enter, *self._dockerd_argv(path, host.cgroup)], path / "dockerd.log")
        wait_for(lambda: ok(["docker", "-H", host.docker_host, "version"]), 60,
                 f"the Docker engine of {host.name} ({path / 'dockerd.log'})")

    def _start_sshd(self, host: SandboxHost) -> None:
        run([*host.enter, "/usr/sbin/sshd", "-f", str(host.path / "sshd_config"), "-E", str(host.path / "sshd.log")])
        wait_for(lambda: _port_open(host.address, 22), 15, f"sshd on {host.name} ({host.address})")

    def _write_ssh_client_files(self, hosts: list[SandboxHost]) -> None:
        lines = []
        for host in hosts:
            key_type, key = (host.path / "ssh_host_ed25519_key.pub").read_text().split()[:2]
            lines.append(f"{host.address} {key_type} {key}")
        self.known_hosts.write_text("\n".join(lines) + "\n")
        self.ssh_config.write_text(
            f"Host {' '.join(h.address for h in hosts)}\n"
            f"  User {self.user}\n"
            f"  IdentityFile {self.ssh_key}\n"
            "  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {self.known_hosts}\n"
            "  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n"
            "  ConnectTimeout 5\n"
        )

    # ---- an ACME CA (tests of HTTPS) ---------------------------------------------------

    def acme(self) -> Acme:
        """The sandbox's ACME CA, pebble and the DNS server it asks, on the bridge address:
        started on first use, stopped by `down`."""
        state = self._state()
        if not state:
            raise SandboxError(f"no sandbox named {self.name!r}: start it with `kamalnb sandbox up --name {self.name}`")
        directory = self.dir / "acme"
        found = Acme(self.gateway, str(directory))
        pids = state.get("acme_pids") or []
        if pids and all(pid_alive(pid) for pid in pids):
            return found
        acme.check_installed()
        terminate(pids)
        acme.write_files(directory, self.gateway)
        state["acme_pids"] = [
            start_daemon(acme.dns_argv(self.gateway), directory / "dns.log"),
            start_daemon(acme.pebble_argv(directory, self.gateway), directory / "pebble.log", env=acme.PEBBLE_ENV),
        ]
        self._write_state(state)
        for port in (acme.DNS_MANAGEMENT_PORT, acme.PEBBLE_PORT):
            wait_for(lambda port=port: _port_open(self.gateway, port), 30, f"the ACME CA ({directory})")
        return found

    # ---- stopping one host's sshd (tests of unreachable hosts) -------------------------

    def stop_sshd(self, host: str) -> None:
        sandbox_host = self.host(host)
        terminate([pid for pid in [read_pid(sandbox_host.path / "sshd.pid")] if pid])
        (sandbox_host.path / "sshd.pid").unlink(missing_ok=True)

    def start_sshd(self, host: str) -> None:
        sandbox_host = self.host(host)
        if not pid_alive(read_pid(sandbox_host.path / "sshd.pid")):
            self._start_sshd(sandbox_host)

    def stop_registry(self) -> None:
        terminate([pid for pid in [(self._state() or {}).get("registry_pid")] if pid])

    def start_registry(self) -> None:
        state = self._state() or {}
        if not pid_alive(state.get("registry_pid")):
            state["registry_pid"] = self._start_registry()
            self._write_state(state)

    # ---- down --------------------------------------------------------------------------

    def down(self, *, purge: bool = False) -> None:
        """Stop every process, remove namespaces, links and mounts; keep nothing running.
        Its files (keys, the sample app, image data) stay for the next `up` unless `purge`."""
        if os.geteuid() != 0:
            raise SandboxError("the sandbox needs root: run `kamalnb sandbox down` as root")
        self._remove_runtime()
        self.state_file.unlink(missing_ok=True)
        if purge:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _remove_runtime(self) -> None:
        state = self._state() or {}
        hosts = [SandboxHost(**h) for h in state.get("hosts", [])] or self._planned_hosts_quietly()
        daemons = [read_pid(h.path / name) for h in hosts for name in ("sshd.pid", "dockerd.pid")]
        daemons.append(read_pid(self.dir / "laptop" / "dockerd.pid"))
        daemons += [state.get("registry_pid"), state.get("laptop_pid"), *(state.get("acme_pids") or [])]
        # dockerd stops its containers on SIGTERM; the app exits on SIGTERM at once.
        terminate([pid for pid in daemons if pid], timeout=20)
        for host in hosts:
            if Path(f"/var/run/netns/{host.netns}").exists():
                leftovers = run(["ip", "netns", "pids", host.netns], check=False).stdout.split()
                terminate([int(p) for p in leftovers], timeout=5)
        cgroups = [h.cgroup for h in hosts] + [f"kamalnb-{self.name}-laptop"]
        terminate([pid for cgroup in cgroups for pid in pids_in_cgroup(cgroup)], timeout=5)
        for cgroup in cgroups:
            remove_cgroups(cgroup)
        for host in hosts:
            run(["ip", "netns", "delete", host.netns], check=False)
            run(["ip", "link", "delete", host.veth], check=False)
        unmount_below(self.dir)
        bridge = state.get("bridge", self.bridge)
        run(["ip", "link", "delete", bridge], check=False)
        rule = ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"]
        while ok(["iptables", "-C", *rule]):
            run(["iptables", "-D", *rule], check=False)
        # Runtime state only (sockets, pid files, containerd's state): an engine killed
        # with it in place fails to start again. Images and volumes stay.
        for directory in [h.path for h in hosts] + [self.dir / "laptop"]:
            shutil.rmtree(directory / "x", ignore_errors=True)
            for name in ("sshd.pid", "dockerd.pid", "docker.sock"):
                (directory / name).unlink(missing_ok=True)

    def _planned_hosts_quietly(self) -> list[SandboxHost]:
        try:
            return self._planned_hosts()
        except SandboxError:
            return []

    # ---- status ------------------------------------------------------------------------

    def status(self) -> list[dict]:
        """One row per host: address, ssh reachable, docker version, containers."""
        def probe(host: SandboxHost) -> dict:
            row = {"host": host.name, "address": host.address, "ssh": False, "docker": None, "containers": None}
            result = run(
                self.ssh_argv(host.name, "docker version --format '{{.Server.Version}}' && docker ps -q | wc -l"),
                check=False,
            )
            if result.returncode == 0:
                version, count = [*result.stdout.split(), "", ""][:2]
                row.update(ssh=True, docker=version, containers=int(count or 0))
            return row

        if not self._state():
            raise SandboxError(f"no sandbox named {self.name!r}: start one with `kamalnb sandbox up`")
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(probe, self.hosts))


def _port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def _addresses_in_use() -> list[ipaddress.IPv4Address]:
    output = run(["ip", "-4", "-o", "addr", "show"], check=False).stdout
    addresses = []
    for line in output.splitlines():
        fields = line.split()
        if "inet" in fields:
            addresses.append(ipaddress.IPv4Interface(fields[fields.index("inet") + 1]).ip)
    return addresses
