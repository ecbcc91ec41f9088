"""Run commands on hosts over SSH with paramiko.

One connection per host, opened on first use and kept for the whole run: every command is
a new channel on the same transport, so a deploy of fifty commands costs one handshake per
host (a connection unused for sshkit's `pool_idle_timeout`, 900 s, is opened anew). Hosts
run in parallel (`kamalnb.fanout`), with a bound on how many handshakes are in flight at
once (sshkit's `max_concurrent_starts`, 30) and on how many hosts work at once.

Host keys are checked against known_hosts. An unknown host is refused with the command
that trusts it, unless `trust_on_first_use` (or `StrictHostKeyChecking accept-new` in the
ssh config) asks to record it; a changed key is always refused.
"""

from __future__ import annotations

import base64
import copy
import errno
import hashlib
import http.client
import io
import logging
import os
import secrets
import select
import shlex
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import paramiko
from paramiko.agent import AgentRequestHandler
from paramiko.auth_strategy import AuthStrategy, InMemoryPrivateKey

from kamalnb.commands.base import Command
from kamalnb.commands.engine import DIAL_STDIO, Call, EngineRequest
from kamalnb.errors import (
    AuthenticationFailed,
    ConfigError,
    HostError,
    HostKeyChanged,
    HostKeyUnknown,
    HostUnreachable,
)
from kamalnb.events import CommandRan, Events
from kamalnb.executors.base import (
    DEFAULT_PARALLELISM,
    BaseExecutor,
    Content,
    HttpResponse,
    LineSplitter,
    content_bytes,
    forward_label,
    upload_label,
)
from kamalnb.executors.settings import SshSettings, settings_from_config
from kamalnb.results import Result
from kamalnb.sensitive import reveal

DEFAULT_MAX_CONCURRENT_STARTS = 30
DEFAULT_POOL_IDLE_TIMEOUT = 900.0
DEFAULT_CONNECT_TIMEOUT = 30.0

_PARAMIKO_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
}
_DEFAULT_IDENTITIES = ("~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa")
_SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"
_CHUNK = 65536
FORWARD_ADDRESS = "127.0.0.1"


def fingerprint(key: paramiko.PKey) -> str:
    """The key's fingerprint as OpenSSH prints it (SHA256:...)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def split_spec(spec: str) -> tuple[str | None, str, int | None]:
    """`user@host:port` (user and port optional; IPv6 in brackets) -> (user, host, port)."""
    user, _, rest = spec.rpartition("@")
    port: int | None = None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":"):
            port = _port(tail[1:], spec)
    elif rest.count(":") == 1:
        host, _, text = rest.partition(":")
        port = _port(text, spec)
    else:
        host = rest
    if not host:
        raise ConfigError(f"{spec!r} names no host: write host, user@host or user@host:port")
    return user or None, host, port


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"{spec!r} has an invalid port {text!r}")
    return int(text)


def _known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class _Target:
    """Everything needed to open one connection, after reading the ssh config."""

    def __init__(self, label: str, hostname: str, port: int, user: str, identities: list[str],
                 use_agent: bool, jump: str | None, proxy_command: str | None, known_hosts: list[str],
                 trust: bool, timeout: float) -> None:
        self.label = label
        self.hostname = hostname
        self.port = port
        self.user = user
        self.identities = identities
        self.use_agent = use_agent
        self.jump = jump
        self.proxy_command = proxy_command
        self.known_hosts = known_hosts
        self.trust = trust
        self.timeout = timeout


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Refuses unknown hosts with instructions, or records them when trust was asked for."""

    def __init__(self, executor: SshExecutor, target: _Target) -> None:
        self.executor = executor
        self.target = target

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        target = self.target
        if target.trust:
            self.executor._remember_host_key(target.known_hosts[0], hostname, key)
            client.get_host_keys().add(hostname, key.get_name(), key)
            return
        store = target.known_hosts[0]
        raise HostKeyUnknown(
            target.label,
            f"host key not known: {hostname} offers {key.get_name()} {fingerprint(key)}, and no "
            f"known_hosts file ({', '.join(target.known_hosts)}) lists it. After checking that "
            f"fingerprint, trust it with `ssh-keyscan -p {target.port} {target.hostname} >> {store}`, "
            f"or allow recording keys of new hosts with trust_on_first_use",
        )


class _Keys(AuthStrategy):
    """Offers private keys, then the ssh-agent's keys, in the order OpenSSH would."""

    def __init__(self, username: str, keys: list[tuple[str, paramiko.PKey]], use_agent: bool) -> None:
        super().__init__(ssh_config=None)
        self.username = username
        self.keys = keys
        self.use_agent = use_agent
        self.offered: list[str] = []

    def get_sources(self) -> Iterable[InMemoryPrivateKey]:
        for name, key in self.keys:
            self.offered.append(name)
            yield InMemoryPrivateKey(self.username, key)
        if self.use_agent and os.environ.get("SSH_AUTH_SOCK"):
            agent = paramiko.Agent()
            try:
                for key in agent.get_keys():
                    self.offered.append(f"agent key {fingerprint(key)}")
                    yield InMemoryPrivateKey(self.username, key)
            finally:
                agent.close()


class _Connection:
    """One host's SSH client, opened lazily and reopened if the transport died."""

    def __init__(self, executor: SshExecutor, target: _Target) -> None:
        self.executor = executor
        self.target = target
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._lock = threading.Lock()
        self._sftp_lock = threading.Lock()
        self._last_used = time.monotonic()
        # Idle channels to the host's Docker engine (`docker system dial-stdio`), kept for the next read.
        self._engines: list[_ChannelHTTPConnection] = []

    def transport(self) -> paramiko.Transport:
        with self._lock:
            transport = self._client.get_transport() if self._client else None
            # sshkit's pool_idle_timeout: a connection idle that long is not trusted any more
            # (a NAT or firewall on the way may have dropped it silently); open a new one.
            idle = time.monotonic() - self._last_used
            self._last_used = time.monotonic()
            if transport is None or not transport.is_active() or idle > self.executor.pool_idle_timeout:
                self._close_locked()
                self._client = self.executor._open(self.target)
                transport = self._client.get_transport()
                assert transport is not None
            return transport

    def reset(self) -> None:
        with self._lock:
            self._close_locked()

    def take_engine(self) -> _ChannelHTTPConnection | None:
        with self._lock:
            self._last_used = time.monotonic()
            return self._engines.pop() if self._engines else None

    def keep_engine(self, engine: _ChannelHTTPConnection) -> None:
        with self._lock:
            transport = self._client.get_transport() if self._client else None
            if transport is not None and engine.channel.get_transport() is transport:
                self._engines.append(engine)
                return
        engine.close()  # its connection was replaced meanwhile

    def sftp(self) -> paramiko.SFTPClient:
        transport = self.transport()
        with self._lock:
            if self._sftp is None or self._sftp.get_channel().get_transport() is not transport:
                self._sftp = paramiko.SFTPClient.from_transport(transport)
            return self._sftp

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        for engine in self._engines:
            engine.close()
        self._engines.clear()
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        if self._client is not None:
            self._client.close()
            self._client = None


class _ChannelHTTPConnection(http.client.HTTPConnection):
    """http.client speaking over an already open SSH channel."""

    def __init__(self, channel: paramiko.Channel, host_header: str, timeout: float) -> None:
        super().__init__(host_header, timeout=timeout)
        self.channel = channel

    def connect(self) -> None:
        self.channel.settimeout(self.timeout)
        self.sock = self.channel


class SshExecutor(BaseExecutor):
    """Runs `Command`s on hosts over SSH.

    >>> with SshExecutor(SshSettings(user="root", keys=["~/.ssh/id_ed25519"])) as ssh:
    ...     results = ssh.run_all(["10.0.0.1", "10.0.0.2"], Command.from_argv(["docker", "-v"]))

    `parallelism` bounds how many hosts work at once in `run_all`;
    `max_concurrent_starts` bounds how many handshakes are in flight at once;
    `pool_idle_timeout` is how many seconds a connection may stay unused and still be reused;
    `command_timeout` is the default per-command timeout in seconds (None: no limit).
    """

    def __init__(
        self,
        settings: SshSettings | None = None,
        *,
        events: Events | None = None,
        max_concurrent_starts: int = DEFAULT_MAX_CONCURRENT_STARTS,
        parallelism: int = DEFAULT_PARALLELISM,
        pool_idle_timeout: float = DEFAULT_POOL_IDLE_TIMEOUT,
        command_timeout: float | None = None,
    ) -> None:
        if max_concurrent_starts < 1 or parallelism < 1:
            raise ConfigError("max_concurrent_starts and parallelism must be at least 1")
        self.settings = settings or SshSettings()
        self.events = events or Events()
        self.parallelism = parallelism
        self.pool_idle_timeout = pool_idle_timeout
        self.command_timeout = command_timeout
        self.connections_opened = 0
        self._starts = threading.BoundedSemaphore(max_concurrent_starts)
        self._lock = threading.Lock()
        self._connections: dict[str, _Connection] = {}
        self._jump_hosts: dict[str, _Connection] = {}
        self._keys: dict[str, tuple[str, paramiko.PKey] | None] = {}
        self._known_hosts_lock = threading.Lock()
        self._ssh_config = self._read_ssh_config()
        # The executor whose connections these are (see `sharing`): it opens and closes them.
        self._owner = self
        logging.getLogger("paramiko").setLevel(_PARAMIKO_LEVELS[self.settings.log_level])

    @classmethod
    def from_config(cls, config: Any, *, events: Events | None = None, command_timeout: float | None = None
                    ) -> SshExecutor:
        """The executor a loaded configuration describes (`ssh:`, `sshkit:`, `x-kamalnb: {ssh:}`)."""
        return cls(
            settings_from_config(config),
            events=events,
            max_concurrent_starts=config.sshkit.max_concurrent_starts,
            pool_idle_timeout=config.sshkit.pool_idle_timeout,
            command_timeout=command_timeout,
        )

    def _channel_timeout(self, host: str) -> float:
        """How long a new channel may take: the host's connect timeout (`ConnectTimeout`
        from the ssh config counts, as when connecting)."""
        return self._connection(host).target.timeout

    # Commands

    def run(self, host: str, command: Command, *, timeout: float | None = None, check: bool = True) -> Result:
        stdin = None if command.stdin is None else content_bytes(command.stdin)
        return self._execute(host, command.render(), str(command), stdin, timeout, check,
                             private=command.private_output)

    def stream(self, host: str, command: Command, write: Callable[[str], None]) -> int | None:
        """Run `command` on a pseudo-terminal, passing each output line to `write` as it
        comes, until it ends or the caller is interrupted. The channel is closed either way,
        and closing a terminal hangs up the remote command (`docker logs --follow` ends)."""
        channel = self._session(host)
        splitter = LineSplitter(write)
        try:
            channel.get_pty(width=200)
            channel.exec_command(command.render())
            channel.settimeout(0.2)
            while not (channel.exit_status_ready() and not channel.recv_ready()):
                try:
                    data = channel.recv(_CHUNK)
                except TimeoutError:
                    continue
                if not data:
                    break
                splitter.feed(data.replace(b"\r\n", b"\n"))
            splitter.finish()
            return channel.exit_status if channel.exit_status_ready() else None
        except (paramiko.SSHException, EOFError, OSError) as error:
            raise HostUnreachable(host, f"connection failed while running `{command}`: {error}") from None
        finally:
            channel.close()

    def upload(self, host: str, content: Content, path: str, *, mode: int = 0o644) -> Result:
        """Write a file over SFTP. The mode is set before any content is written, so a secret
        never sits in a file more open than `mode`; the content goes to a temporary name that
        is renamed over `path` once complete, so a full disk never leaves a truncated file."""
        data = content_bytes(content)
        display = upload_label(path, len(data), mode)
        connection = self._connection(host)
        try:
            sftp = connection.sftp()
        except paramiko.SSHException:
            return self._upload_by_shell(host, data, path, mode)
        except HostError:
            self._started(host, display)
            self.events.emit(CommandRan(host, display, None, 0.0))
            raise
        started, t0 = self._started(host, display)
        partial = _partial_name(path)
        try:
            with connection._sftp_lock:
                try:
                    with sftp.open(partial, "w") as remote:
                        sftp.chmod(partial, mode)
                        remote.write(data)
                    sftp.posix_rename(partial, path)
                except BaseException:
                    with suppress(OSError, paramiko.SSHException):
                        sftp.remove(partial)
                    raise
        except (OSError, paramiko.SSHException) as error:
            self.events.emit(CommandRan(host, display, None, time.monotonic() - t0))
            reason = getattr(error, "strerror", None) or str(error)
            raise HostError(host, f"cannot write {path}: {reason}") from None
        return self._finished(host, display, 0, started, t0, "", "", check=False)

    def open_tunnel(self, host: str, address: str, port: int, *, timeout: float | None = None) -> paramiko.Channel:
        """A socket-like channel to `address:port` as seen from `host` (`direct-tcpip`).

        `address` may be the host's loopback (127.0.0.1) or a container's address; nothing
        needs to be installed on the host.
        """
        transport = self._connection(host).transport()
        try:
            return transport.open_channel(
                "direct-tcpip", (address, port), ("127.0.0.1", 0),
                timeout=timeout or self._channel_timeout(host),
            )
        except paramiko.ChannelException as error:
            raise HostError(host, f"cannot reach {address}:{port} from {host}: {error.text}") from None
        except (paramiko.SSHException, EOFError, OSError) as error:
            raise HostError(host, f"cannot open a tunnel to {address}:{port}: {error}") from None

    @contextmanager
    def forward_to_local(self, host: str, port: int) -> Iterator[None]:
        display = forward_label(port)
        started, t0 = self._started(host, display)
        transport = self._connection(host).transport()

        def accept(channel: paramiko.Channel, origin: object, server: object) -> None:
            # Called on the transport's own thread, which must go on reading packets.
            threading.Thread(target=_splice_to_local, args=(channel, port), daemon=True,
                             name=f"kamalnb-forward-{host}").start()

        try:
            transport.request_port_forward(FORWARD_ADDRESS, port, handler=accept)
        except (paramiko.SSHException, EOFError, OSError) as error:
            self.events.emit(CommandRan(host, display, None, time.monotonic() - t0))
            raise HostError(host, f"cannot forward 127.0.0.1:{port} on {host} to this machine ({display}): "
                                  f"{error or 'refused by the server'}; free that port on {host}, or allow "
                                  "TCP forwarding (AllowTcpForwarding) in its sshd") from None
        self._finished(host, display, 0, started, t0, "", "", check=False)
        try:
            yield
        finally:
            try:
                transport.cancel_port_forward(FORWARD_ADDRESS, port)
            except (paramiko.SSHException, EOFError, OSError):
                pass  # the connection is gone, and its forward with it

    def http(
        self,
        host: str,
        method: str,
        address: str,
        port: int,
        path: str,
        *,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> HttpResponse:
        channel = self.open_tunnel(host, address, port, timeout=timeout)
        connection = _ChannelHTTPConnection(channel, f"{address}:{port}", timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            data = response.read()
            return HttpResponse(response.status, response.reason, dict(response.getheaders()), data)
        except (OSError, http.client.HTTPException, paramiko.SSHException) as error:
            reason = "timed out" if isinstance(error, TimeoutError) else (str(error) or type(error).__name__)
            raise HostError(host, f"{method} http://{address}:{port}{path} failed: {reason}") from None
        finally:
            connection.close()

    def _engine_sender(self, host: str, request: EngineRequest, display: str) -> Callable[[Call], HttpResponse]:
        """Requests sent to the host's Docker engine over a channel of the kept SSH connection
        running `docker system dial-stdio`; the channel stays open for the next one."""
        return lambda call: self._engine_send(host, call, request.timeout)

    def _engine_send(self, host: str, call: Call, timeout: float) -> HttpResponse:
        connection = self._connection(host)
        kept = connection.take_engine()
        headers = {"Content-Type": "application/json"} if call.body is not None else {}
        while True:
            engine = kept or self._open_engine(host, timeout)
            try:
                engine.channel.settimeout(timeout)
                engine.request(call.method, call.path, body=call.body, headers=headers)
                response = engine.getresponse()
                answer = HttpResponse(response.status, response.reason, dict(response.getheaders()), response.read())
            except (OSError, http.client.HTTPException, paramiko.SSHException, EOFError) as error:
                if kept is not None and not isinstance(error, TimeoutError):
                    # Kept from an earlier request and closed since (the engine or sshd
                    # restarted): nothing there read this one, so once more, anew. A timeout
                    # is not that: the engine may be at work on it.
                    engine.close()
                    kept = None
                    continue
                failure = self._engine_failure(host, engine.channel, f"`{call}`", error)
                engine.close()
                raise failure from None
            if response.will_close:
                engine.close()
            else:
                connection.keep_engine(engine)
            return answer

    def _open_engine(self, host: str, timeout: float) -> _ChannelHTTPConnection:
        channel = self._session(host)
        try:
            channel.exec_command(DIAL_STDIO)
        except (paramiko.SSHException, EOFError, OSError) as error:
            channel.close()
            raise HostUnreachable(host, f"cannot start `{DIAL_STDIO}`: {error or 'connection closed'}") from None
        return _ChannelHTTPConnection(channel, "docker", timeout)

    def _engine_failure(self, host: str, channel: paramiko.Channel, asking: str, error: BaseException) -> HostError:
        doing = f"while asking the Docker engine {asking}"
        transport = channel.get_transport()
        if isinstance(error, TimeoutError):
            return self._silent(host, doing)
        if transport is None or not transport.is_active():
            return self._lost(host, transport, doing)
        # The connection is fine: `docker system dial-stdio` itself ended, and says why.
        channel.status_event.wait(1)
        said = b""
        while channel.recv_stderr_ready():
            said += channel.recv_stderr(_CHUNK)
        reason = said.decode(errors="replace").strip() or str(error) or type(error).__name__
        return HostError(host, f"`{DIAL_STDIO}` failed {doing}: {reason}; check that docker runs on {host} "
                               "(`docker info`) for the SSH user")

    def sharing(self, events: Events) -> SshExecutor:
        """An executor on this one's connections that reports to `events`: each step an App
        runs gets its own events, and no handshake once a host is connected. Closing it
        leaves the connections open; closing this one closes them."""
        shared = copy.copy(self)
        shared.events = events
        return shared

    def close(self) -> None:
        if self._owner is not self:
            return
        with self._lock:
            # Hosts before the jump hosts their connections run through.
            connections = [*self._connections.values(), *self._jump_hosts.values()]
            self._connections.clear()
            self._jump_hosts.clear()
        for connection in connections:
            connection.close()

    # Connections

    def connected_hosts(self) -> list[str]:
        with self._lock:
            return [host for host, connection in self._connections.items() if connection._client is not None]

    def _connection(self, host: str) -> _Connection:
        with self._lock:
            connection = self._connections.get(host)
            if connection is None:
                connection = self._connections[host] = _Connection(self._owner, self._resolve(host))
            return connection

    def _read_ssh_config(self) -> paramiko.SSHConfig | None:
        setting = self.settings.config
        if setting is False:
            return None
        if setting is True:
            paths = [p for p in (Path("~/.ssh/config").expanduser(), Path("/etc/ssh/ssh_config")) if p.is_file()]
        else:
            paths = [Path(p).expanduser() for p in ((setting,) if isinstance(setting, str) else setting)]
            for path in paths:
                if not path.is_file():
                    raise ConfigError(f"ssh.config names {str(path)!r}, which does not exist")
        config = paramiko.SSHConfig()
        for path in paths:
            with open(path) as handle:
                config.parse(handle)
        return config

    def _resolve(self, host: str, *, jump_user: str | None = None, jump_port: int | None = None) -> _Target:
        settings = self.settings
        found = self._ssh_config.lookup(host) if self._ssh_config else {}
        is_jump = jump_user is not None
        user = jump_user or settings.user or found.get("user") or "root"
        if is_jump:
            port = jump_port or int(found.get("port", 22))
        else:
            port = settings.port if settings.port is not None else int(found.get("port", 22))
        identities = [*settings.keys, *found.get("identityfile", [])]
        keys_only = settings.keys_only or found.get("identitiesonly", "no").lower() == "yes"
        if not keys_only:
            identities += [path for path in _DEFAULT_IDENTITIES if path not in identities]
        if is_jump:
            jump = None
        elif settings.proxy or settings.proxy_command:
            jump = settings.proxy
        else:
            jump = found.get("proxyjump")
            if jump and jump.lower() == "none":
                jump = None
        if jump and "," in jump:
            raise ConfigError(f"jump host chains ({jump}) are not supported: give one jump host")
        proxy_command = None if is_jump or jump else (settings.proxy_command or found.get("proxycommand"))
        if proxy_command and proxy_command.lower() == "none":
            proxy_command = None
        known_hosts = (list(settings.known_hosts) or found.get("userknownhostsfile", "").split()
                       or ["~/.ssh/known_hosts"])
        strict = found.get("stricthostkeychecking", "ask").lower()
        timeout = settings.connect_timeout or float(found.get("connecttimeout", DEFAULT_CONNECT_TIMEOUT))
        return _Target(
            label=f"{user}@{host} (jump host)" if is_jump else host,
            hostname=found.get("hostname", host),
            port=port,
            user=user,
            identities=identities,
            use_agent=not keys_only,
            jump=jump,
            proxy_command=proxy_command,
            known_hosts=[os.path.expanduser(path) for path in known_hosts],
            trust=settings.trust_on_first_use or strict in ("accept-new", "no", "off"),
            timeout=timeout,
        )

    def _open(self, target: _Target) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        for path in [*target.known_hosts, _SYSTEM_KNOWN_HOSTS]:
            if os.path.isfile(path):
                try:
                    client.load_system_host_keys(path)
                except (OSError, paramiko.SSHException) as error:
                    raise ConfigError(f"cannot read known_hosts file {path}: {error}") from None
        client.set_missing_host_key_policy(_HostKeyPolicy(self, target))
        strategy = _Keys(target.user, self._load_keys(target), use_agent=target.use_agent)
        sock: paramiko.Channel | paramiko.ProxyCommand | socket.socket | None = None
        try:
            # Outside the start limit: the jump host's own connection takes a slot of its own.
            if target.jump:
                sock = self._jump_channel(target)
            elif target.proxy_command:
                command = target.proxy_command.replace("%h", target.hostname).replace("%p", str(target.port))
                sock = paramiko.ProxyCommand(command.replace("%r", target.user).replace("%%", "%"))
            with self._starts:
                if sock is None:
                    sock = self._tcp(target)
                client.connect(
                    target.hostname,
                    port=target.port,
                    username=target.user,
                    sock=sock,
                    timeout=target.timeout,
                    banner_timeout=target.timeout,
                    auth_timeout=target.timeout,
                    auth_strategy=strategy,
                )
        except BaseException as error:
            client.close()
            if sock is not None:
                sock.close()
            raise self._connect_error(target, error, strategy) from None
        transport = client.get_transport()
        assert transport is not None
        transport.set_keepalive(self.settings.keepalive_interval)
        with self._lock:
            self.connections_opened += 1
        return client

    def _tcp(self, target: _Target) -> socket.socket:
        retries = self.settings.dns_retries
        for attempt in range(retries + 1):
            try:
                sock = socket.create_connection((target.hostname, target.port), timeout=target.timeout)
                break
            except socket.gaierror as error:
                if attempt == retries:
                    raise HostUnreachable(target.label, f"cannot resolve {target.hostname}: {error.strerror}") from None
                time.sleep(min(2.0, 0.1 * 2 ** attempt))
        # Without it, every channel request waits out the peer's delayed ACK (about 40 ms).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        bound_silence(sock, target.timeout)
        return _WatchedSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())

    def _connect_error(self, target: _Target, error: BaseException, strategy: _Keys) -> BaseException:
        where = f"{target.hostname}:{target.port}" + (f" via {target.jump}" if target.jump else "")
        if isinstance(error, (HostError, ConfigError)):
            return error
        if isinstance(error, paramiko.BadHostKeyException):
            name = _known_hosts_name(target.hostname, target.port)
            return HostKeyChanged(
                target.label,
                f"HOST KEY CHANGED: {where} now offers {error.key.get_name()} {fingerprint(error.key)}, "
                f"but known_hosts has {fingerprint(error.expected_key)}. Someone may be intercepting "
                f"the connection. If the server was reinstalled, remove the old key with "
                f"`ssh-keygen -R '{name}' -f {target.known_hosts[0]}` and trust the new one",
            )
        if isinstance(error, paramiko.AuthenticationException):
            tried = ", ".join(strategy.offered) or "nothing (no key file, no key_data, no ssh-agent)"
            return AuthenticationFailed(
                target.label,
                f"authentication as {target.user} failed on {where}; offered: {tried}. "
                f"Check ssh.user, ssh.keys / ssh.key_data, or add the key to the ssh-agent",
            )
        if isinstance(error, (TimeoutError, socket.timeout)):
            return HostUnreachable(target.label, f"no answer within {target.timeout:g} s connecting to {where}")
        if isinstance(error, OSError):
            return HostUnreachable(target.label, f"cannot connect to {where}: {error.strerror or error}")
        if isinstance(error, (paramiko.SSHException, EOFError)):
            return HostUnreachable(target.label, f"SSH handshake with {where} failed: {error or 'connection closed'}")
        return error

    def _jump_channel(self, target: _Target) -> paramiko.Channel:
        assert target.jump is not None
        user, host, port = split_spec(target.jump)
        key = f"{user or 'root'}@{host}:{port or ''}"
        with self._lock:
            bastion = self._jump_hosts.get(key)
            if bastion is None:
                bastion = self._jump_hosts[key] = _Connection(
                    self._owner, self._resolve(host, jump_user=user or "root", jump_port=port))
        try:
            transport = bastion.transport()
        except HostError as error:
            raise type(error)(target.label, f"through jump host {target.jump}: {error.detail}") from None
        try:
            return transport.open_channel(
                "direct-tcpip", (target.hostname, target.port), ("127.0.0.1", 0), timeout=target.timeout)
        except paramiko.ChannelException as error:
            raise HostUnreachable(
                target.label,
                f"jump host {target.jump} cannot reach {target.hostname}:{target.port}: {error.text}",
            ) from None
        except (paramiko.SSHException, EOFError, OSError) as error:
            raise HostUnreachable(target.label, f"jump host {target.jump} failed: {error}") from None

    def _load_keys(self, target: _Target) -> list[tuple[str, paramiko.PKey]]:
        keys: list[tuple[str, paramiko.PKey]] = []
        for index, pem in enumerate(self.settings.key_data):
            name = f"key_data[{index}]"
            loaded = self._keys.get(name)
            if loaded is None:
                loaded = self._keys[name] = (name, _key_from_text(reveal(pem), name))
            keys.append(loaded)
        explicit = set(self.settings.keys)
        for path in target.identities:
            if path not in self._keys:
                self._keys[path] = _key_from_file(path, required=path in explicit)
            entry = self._keys[path]
            if entry is not None:
                keys.append(entry)
        return keys

    def _remember_host_key(self, store: str, name: str, key: paramiko.PKey) -> None:
        with self._known_hosts_lock:
            os.makedirs(os.path.dirname(store) or ".", mode=0o700, exist_ok=True)
            fd = os.open(store, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a") as handle:
                handle.write(f"{name} {key.get_name()} {key.get_base64()}\n")

    # Running

    def _session(self, host: str) -> paramiko.Channel:
        connection = self._connection(host)
        transport = connection.transport()
        started = time.monotonic()
        try:
            return transport.open_session(timeout=self._channel_timeout(host))
        except (paramiko.SSHException, EOFError, OSError) as error:
            waited = time.monotonic() - started >= self._channel_timeout(host)
            if transport.is_active() and not waited:
                raise HostUnreachable(host, f"cannot open a session: {error or 'connection closed'}") from None
            if waited or getattr(transport.sock, "silent", False):
                raise self._silent(host, "opening a session") from None
        # The connection dropped since its last use (server restart, network blip): reconnect once.
        connection.reset()
        try:
            return connection.transport().open_session(timeout=self._channel_timeout(host))
        except (paramiko.SSHException, EOFError, OSError) as error:
            raise HostUnreachable(host, f"cannot open a session: {error or 'connection closed'}") from None

    def _execute(self, host: str, line: str, display: str, stdin: bytes | None,
                 timeout: float | None, check: bool, *, private: bool = False) -> Result:
        timeout = self.command_timeout if timeout is None else timeout
        started, t0 = self._started(host, display)
        out = LineSplitter(self._line_emitter(host, "stdout", display, private=private))
        err = LineSplitter(self._line_emitter(host, "stderr", display, check))
        deadline = None if timeout is None else t0 + timeout
        try:
            channel = self._session(host)
        except HostError:
            self.events.emit(CommandRan(host, display, None, time.monotonic() - t0))
            raise
        try:
            if self.settings.forward_agent:
                AgentRequestHandler(channel)
            channel.exec_command(line)
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
            # poll, not select: select fails once descriptors pass 1024 (many hosts at once).
            poller = select.poll()
            poller.register(channel.fileno(), select.POLLIN)
            while not (channel.eof_received or channel.closed):
                _drain(channel, out, err)
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise self._timed_out(host, display, t0, timeout or 0)
                poller.poll(None if left is None else left * 1000)
            _drain(channel, out, err)
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not channel.status_event.wait(left):
                raise self._timed_out(host, display, t0, timeout or 0)
            out.finish()
            err.finish()
            exit_status = channel.exit_status
            transport = channel.get_transport()
            if exit_status == -1 and not (transport and transport.is_active()):
                self.events.emit(CommandRan(host, display, None, time.monotonic() - t0))
                raise self._lost(host, transport, f"while running `{display}`")
        except (paramiko.SSHException, EOFError, OSError) as error:
            self.events.emit(CommandRan(host, display, None, time.monotonic() - t0))
            if isinstance(error, TimeoutError) or getattr(error, "errno", None) == errno.ETIMEDOUT:
                raise self._silent(host, f"while running `{display}`") from None
            raise HostUnreachable(host, f"connection failed while running `{display}`: {error}") from None
        finally:
            channel.close()
        return self._finished(host, display, exit_status, started, t0, out.text, err.text, check)

    def _lost(self, host: str, transport: paramiko.Transport | None, doing: str) -> HostUnreachable:
        """The error for a connection that ended under a command: the host stopped answering
        (the kernel gave up on it, see `bound_silence`), or it closed the connection."""
        if getattr(getattr(transport, "sock", None), "silent", False):
            return self._silent(host, doing)
        return HostUnreachable(host, f"connection lost {doing}")

    def _silent(self, host: str, doing: str) -> HostUnreachable:
        bound = self._connection(host).target.timeout
        return HostUnreachable(host, f"no answer within {bound:g} s {doing}: the host or its network is down "
                                     f"(the bound is the SSH connect timeout)")

    def _upload_by_shell(self, host: str, data: bytes, path: str, mode: int) -> Result:
        # Servers without an SFTP subsystem: the umask keeps the file private until chmod.
        quoted, partial = shlex.quote(path), shlex.quote(_partial_name(path))
        line = (f"umask 077 && {{ cat > {partial} && chmod {mode:04o} {partial} && mv -f {partial} {quoted}; }}"
                f" || {{ rm -f {partial}; exit 1; }}")
        display = upload_label(path, len(data), mode)
        return self._execute(host, line, display, data, None, check=True)


class _WatchedSocket(socket.socket):
    """A socket that remembers whether the kernel gave up on the host (ETIMEDOUT): paramiko
    turns that into a plain EOF, which reads the same as a host closing the connection."""

    silent = False

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        try:
            return super().recv(bufsize, flags)
        except OSError as error:
            self.silent = self.silent or error.errno == errno.ETIMEDOUT
            raise

    def send(self, data: Any, flags: int = 0) -> int:
        try:
            return super().send(data, flags)
        except OSError as error:
            self.silent = self.silent or error.errno == errno.ETIMEDOUT
            raise


def bound_silence(sock: socket.socket, seconds: float) -> None:
    """Make the kernel give up on the connection once the host has answered nothing (not
    even a TCP acknowledgement) for about `seconds`: a host whose link goes down or that
    powers off then fails every command, upload and tunnel within that, instead of after
    TCP's retransmissions (minutes). A host that is only slow still acknowledges, so a long
    silent command (a pull) is not cut short. Where the options are missing, paramiko's
    keepalive is the only bound."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    user_timeout = getattr(socket, "TCP_USER_TIMEOUT", None)
    if user_timeout is None or not hasattr(socket, "TCP_KEEPIDLE"):
        return
    # Probes while idle, so that a connection waiting for a command's output notices too.
    probe = max(1, int(seconds / 3))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, probe)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, probe)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    sock.setsockopt(socket.IPPROTO_TCP, user_timeout, int(seconds * 1000))


def _partial_name(path: str) -> str:
    """Where an upload is written before it is renamed to `path`: beside it, on the same file system."""
    return f"{path}.kamalnb-partial-{secrets.token_hex(4)}"


def _splice_to_local(channel: paramiko.Channel, port: int) -> None:
    """Copy bytes both ways between a forwarded channel and 127.0.0.1:`port` here until
    either side closes."""
    try:
        local = socket.create_connection((FORWARD_ADDRESS, port), timeout=10)
    except OSError:
        channel.close()  # nothing listens here: the host's client sees the connection refused
        return
    local.settimeout(None)
    try:
        while True:
            readable, _, _ = select.select([channel, local], [], [])
            if channel in readable:
                data = channel.recv(_CHUNK)
                if not data:
                    break
                local.sendall(data)
            if local in readable:
                data = local.recv(_CHUNK)
                if not data:
                    break
                channel.sendall(data)
    except OSError:
        pass  # either side reset: both are closed below
    finally:
        local.close()
        channel.close()


def _drain(channel: paramiko.Channel, out: LineSplitter, err: LineSplitter) -> None:
    while channel.recv_ready():
        out.feed(channel.recv(_CHUNK))
    while channel.recv_stderr_ready():
        err.feed(channel.recv_stderr(_CHUNK))


def _key_from_text(text: str, name: str) -> paramiko.PKey:
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(text))
        except paramiko.PasswordRequiredException:
            raise ConfigError(f"ssh {name} is an encrypted key: load it into ssh-agent instead") from None
        except (paramiko.SSHException, ValueError):
            continue
    raise ConfigError(f"ssh {name} is not a private key kamalnb can read (OpenSSH or PEM: ed25519, ecdsa, rsa)")


def _key_from_file(path: str, *, required: bool) -> tuple[str, paramiko.PKey] | None:
    expanded = Path(path).expanduser()
    try:
        return path, paramiko.PKey.from_path(expanded)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"ssh.keys names {path!r}, which does not exist") from None
    except paramiko.PasswordRequiredException:
        if required:
            raise ConfigError(f"ssh key {path!r} is encrypted: add it to ssh-agent (ssh-add {path})") from None
    except TypeError:
        # cryptography's way of saying the key is encrypted and no password was given
        if required:
            raise ConfigError(f"ssh key {path!r} is encrypted: add it to ssh-agent (ssh-add {path})") from None
    except (OSError, ValueError, paramiko.SSHException) as error:
        if required:
            raise ConfigError(f"cannot read ssh key {path!r}: {error}") from None
    return None
