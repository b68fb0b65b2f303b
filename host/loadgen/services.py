"""Private Mosquitto brokers and PostgreSQL clusters for fault tests and the load generator.

Each runs as a child process on a free loopback port in a directory of its own, so a test can
stop, kill or restart it without touching the machine's shared services (which other people's
tests are using). Both are context managers that always stop what they started.

``PrivateMosquitto`` takes a rendered configuration: ``render_mosquitto_conf`` rewrites the
shipped ``deploy/mosquitto/smartcart-secure.conf`` (paths under /etc and /var, listener ports) to
a temporary directory, so the tests exercise the configuration that ships, not a copy of it.

``PrivatePostgres`` runs ``initdb`` + ``pg_ctl`` from the installed PostgreSQL. PostgreSQL refuses
to run as root; under root the cluster runs as the ``postgres`` system user (``runuser``).
"""

from __future__ import annotations

import contextlib
import getpass
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from host.errors import HostError

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SECURE_CONF = DEPLOY / "mosquitto" / "smartcart-secure.conf"
ACL_FILE = DEPLOY / "mosquitto" / "smartcart.acl"
PKI_SCRIPT = DEPLOY / "pki" / "pki.sh"


class ServiceError(HostError):
    """A private broker or database did not start, or stop, as asked."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServiceError(f"process exited with {proc.returncode} before port {port} opened")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise ServiceError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


# ---- Mosquitto ----


@dataclass(frozen=True, slots=True)
class MosquittoPorts:
    plain: int | None = None  # anonymous, no ACL: the loopback bench setting
    tls: int | None = None  # the shipped mutual-TLS listener
    password: int | None = None  # the shipped password listener


def plain_conf(directory: Path, port: int) -> str:
    """A loopback broker without auth, persistent like the shipped one (for fault and load runs)."""
    return (
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        f"persistence true\npersistence_location {directory}/\n"
        "max_queued_messages 100000\nmax_inflight_messages 1000\nset_tcp_nodelay true\n"
        "log_type error\nlog_type warning\n"
    )


def render_mosquitto_conf(directory: Path, pki_dir: Path, ports: MosquittoPorts) -> str:
    """The shipped secure configuration with its paths and ports moved into ``directory``."""
    text = SECURE_CONF.read_text(encoding="utf-8")
    text = text.replace("/etc/mosquitto/pki/", f"{pki_dir}/")
    text = text.replace("/etc/mosquitto/", f"{directory}/")
    text = text.replace("/var/lib/mosquitto/", f"{directory}/")
    text = re.sub(r"(?m)^listener 8883.*$", f"listener {ports.tls} 127.0.0.1", text)
    text = re.sub(r"(?m)^listener 1884.*$", f"listener {ports.password} 127.0.0.1", text)
    shutil.copyfile(ACL_FILE, directory / "smartcart.acl")
    # Run as whoever runs the test (mosquitto would otherwise switch to its own system user,
    # which cannot read keys in a private temporary directory).
    return f"user {getpass.getuser()}\n" + text


class PrivateMosquitto:
    """``with PrivateMosquitto(dir, conf_text, port) as b: ...; b.restart(); b.kill()``."""

    def __init__(self, directory: Path, conf: str, port: int) -> None:
        self.directory = directory
        self.port = port
        self.conf_path = directory / "mosquitto.conf"
        self.log_path = directory / "mosquitto.log"
        directory.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(conf, encoding="utf-8")
        self._proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> PrivateMosquitto:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [binary, "-c", str(self.conf_path)], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_port(self.port, 10, self._proc)
        except ServiceError as e:
            raise ServiceError(f"mosquitto did not start: {e}\n{self.log()}") from e
        self.starts += 1
        return self

    def stop(self) -> None:
        """SIGTERM: Mosquitto saves its persistence file (queued QoS 1 messages) and exits."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> PrivateMosquitto:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def issue_pki(directory: Path, clients: list[str]) -> Path:
    """Run the shipped ``deploy/pki/pki.sh``: a CA, a broker certificate, one per client."""
    run = [str(PKI_SCRIPT)]
    subprocess.run([*run, "init", str(directory)], check=True, capture_output=True)
    subprocess.run(
        [*run, "broker", str(directory), "localhost", "127.0.0.1"], check=True, capture_output=True
    )
    for name in clients:
        extra = ["--host"] if name == "smartcart-host" else []
        subprocess.run(
            [*run, "client", str(directory), name, *extra], check=True, capture_output=True
        )
    return directory


# ---- PostgreSQL ----


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise ServiceError(f"PostgreSQL's {name} is not installed")
    return found[-1]


class PrivatePostgres:
    """A throwaway PostgreSQL cluster: ``with PrivatePostgres(dir) as pg: pg.url; pg.restart()``."""

    def __init__(self, directory: Path | None = None, port: int | None = None) -> None:
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
        if directory is None or self._as:
            # The postgres user must reach the directory: pytest's tmp tree is root-only.
            directory = Path(tempfile.mkdtemp(prefix="smartcart-pg-"))
        self.directory = directory
        self.data = directory / "data"
        self.port = port or free_port()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout_s: float = 120) -> None:
        result = subprocess.run(
            [*self._as, *args], capture_output=True, timeout=timeout_s, check=False
        )
        if result.returncode != 0:
            raise ServiceError(
                f"{' '.join(args[:2])} failed ({result.returncode}): "
                f"{result.stderr.decode(errors='replace')[-2000:]}"
            )

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._as:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            _pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"
        )
        conf = self.data / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as f:
            # Loopback only; small, and no fsync wait on commit being skipped: a restart test
            # must see real durability, so fsync and synchronous_commit stay on.
            f.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.directory}'\n"
                "max_connections = 50\nshared_buffers = 32MB\n"
            )

    def start(self) -> PrivatePostgres:
        self._run(
            _pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "pg.log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip
        wait_port(self.port, 30)
        return self

    def stop(self, mode: str = "fast") -> None:
        """``fast`` (clean) or ``immediate`` (like a crash: recovery replays the WAL on start)."""
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast", down_s: float = 0.0) -> None:
        self.stop(mode)
        time.sleep(down_s)
        self.start()

    def __enter__(self) -> PrivatePostgres:
        self.init()
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(ServiceError):  # already down (a test stopped it)
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
