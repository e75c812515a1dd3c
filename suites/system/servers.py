"""Real servers as local processes for the fast suite: PostgreSQL, Redis, moto (SQS),
FerretDB (MongoDB wire protocol) and the four services.

Each is a ManagedProcess that can be stopped and started again on the same port, which the
outage tests use. Nothing here is mocked.
"""

import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from suites.waiting import eventually, scaled
from testbed.cluster import DATABASE_INIT_SQL
from testbed.settings import Settings
from testbed.setup import ferretdb_binary

REPO = Path(__file__).resolve().parents[2]
POSTGRES_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
# Where airgap/go/build.sh puts it (DEMO_MICRO_CACHE, default /var/cache/demo-micro).
FERRETDB_CACHE = ferretdb_binary(Settings.from_env())


def ephemeral_ports(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> range:
    """The ports the kernel gives to a bind to port 0 and to outgoing connections."""
    try:
        low, high = (int(word) for word in path.read_text().split())
    except (OSError, ValueError):
        return range(32768, 61000)  # Linux's default
    return range(low, high + 1)


#: Ports handed out come from below the kernel's ephemeral range. A port picked by binding to 0
#: is free only until its server binds it: meanwhile an outgoing connection, or the campaign's
#: link relays (which bind to 0), could take it, and the server fails with "address already in
#: use" (inventory-service in the campaign's stack, 6 Dec 2026). Below the range only this
#: module hands ports out.
_EPHEMERAL_START = ephemeral_ports().start
PICKED_FROM = range(max(1024, _EPHEMERAL_START - 12_000), _EPHEMERAL_START)
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback TCP port, free now, that no other call here has handed out."""
    for port in random.sample(PICKED_FROM, 200):
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free loopback port in {PICKED_FROM.start}-{PICKED_FROM.stop - 1}")


def find_ferretdb() -> str:
    """The FerretDB binary: $FERRETDB_BIN, else `ferretdb` on PATH, else the build cache."""
    candidates = [os.environ.get("FERRETDB_BIN"), shutil.which("ferretdb"), str(FERRETDB_CACHE)]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(
        "FerretDB v1.24.2 (the MongoDB-wire server of the fast suite) was not found: set "
        "FERRETDB_BIN, put `ferretdb` on PATH, or build it from the Go module proxy into "
        f"{FERRETDB_CACHE} with `python -m testbed setup fast` (tox runs it before the fast "
        "suite) or `airgap/go/build.sh ferretdb`."
    )


def _unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root: run it as `postgres` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError("running as root needs a `postgres` user to run PostgreSQL") from exc
    return "postgres"


@dataclass
class ManagedProcess:
    """One server process with a readiness check, a log file and stop/start."""

    name: str
    argv: list[str]
    ready: Callable[[], object]
    log_path: Path
    #: What its readiness check raises while the server is still starting (not yet listening,
    #: still loading): these count as "not yet", anything else fails the wait at once.
    starting_errors: tuple[type[Exception], ...] = (httpx.TransportError,)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    user: str | None = None
    startup_timeout: float = 30.0
    proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        """Start the process without waiting for it to be ready."""
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(self.env),
            cwd=REPO,
            user=self.user,
            group=self.user,
            start_new_session=True,
        )
        log.close()

    def wait_ready(self) -> None:
        """Wait for the readiness check, failing early (with the log) if the process dies."""

        def alive_and_ready() -> object:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise ProcessDied(f"{self.name} exited with {self.proc.returncode}")
            return self.ready()

        try:
            eventually(
                alive_and_ready,
                timeout=self.startup_timeout,
                interval=0.1,
                what=f"{self.name} to accept requests",
                hint=f"its log ({self.log_path}) ends with:\n{self.log_tail()}",
                retry_on=self.starting_errors,
            )
        except Exception:  # timed out, died, or a check error that is not "still starting"
            self.stop()
            raise

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=scaled(timeout))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=scaled(5))
        return proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "<no log>"
        return "\n".join(text.splitlines()[-lines:])


class ProcessDied(Exception):
    """The process exited while we waited for it to become ready."""


#: How long a just-spawned service may take to answer at all: importing and starting one took
#: over 5 s on this 2-core machine under a cold CI's builds (5 Dec 2026).
ANSWERS_WITHIN_SECONDS = 20.0


def first_answer(url: str, what: str) -> httpx.Response:
    """The first answer (any status) of a just-spawned service at `url`, within
    ANSWERS_WITHIN_SECONDS."""
    return eventually(
        lambda: httpx.get(url, timeout=5),
        timeout=ANSWERS_WITHIN_SECONDS,
        what=what,
        retry_on=(httpx.TransportError,),
    )


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        return httpx.get(url, timeout=1.0).status_code == 200

    return check


def postgres(workdir: Path) -> tuple[ManagedProcess, int]:
    """A throw-away PostgreSQL cluster (trust auth, user `demo`, no fsync)."""
    import psycopg

    user = _unprivileged_user()
    # pytest's tmp dirs are private to root; PostgreSQL's own user needs its data dir.
    datadir = Path(tempfile.mkdtemp(prefix="demo-micro-pg-"))
    if user:
        entry = pwd.getpwnam(user)
        os.chown(datadir, entry.pw_uid, entry.pw_gid)
    subprocess.run(
        [str(POSTGRES_BIN / "initdb"), "-D", str(datadir), "-U", "demo", "--auth=trust",
         "--no-sync", "-E", "UTF8", "--locale=C"],
        check=True, timeout=scaled(60), capture_output=True, user=user, group=user,
    )  # fmt: skip
    port = free_port()

    def accepts_connections() -> bool:
        with psycopg.connect(f"host=127.0.0.1 port={port} user=demo dbname=postgres"):
            return True

    process = ManagedProcess(
        name="postgresql",
        argv=[
            str(POSTGRES_BIN / "postgres"),
            "-D",
            str(datadir),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={datadir}",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=128MB",
        ],
        ready=accepts_connections,
        starting_errors=(psycopg.OperationalError,),
        log_path=workdir / "postgresql.log",
        user=user,
    )
    return process, port


def create_databases(port: int, names: list[str]) -> None:
    import psycopg

    with psycopg.connect(
        f"host=127.0.0.1 port={port} user=demo dbname=postgres", autocommit=True
    ) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')


#: The databases' init script that creates a service's own role (manifests/base/postgres-init):
#: the suites run the very files the database pods run.
ROLE_SQL = DATABASE_INIT_SQL
ROLE_SCRIPT = ROLE_SQL.with_name("app-role.sh")


def create_role(port: int, database: str, role: str) -> None:
    """`role` made the owner of `database`'s public schema and its tables, as the database pod's
    init does (and as an administrator does for a database made before the role existed)."""
    env = {
        **os.environ,
        "PATH": f"{POSTGRES_BIN}:{os.environ.get('PATH', '')}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(port),
        "POSTGRES_USER": "demo",
        "POSTGRES_DB": database,
        "APP_DB_USER": role,
        "APP_DB_PASSWORD": "unused-with-trust-auth",
        "APP_ROLE_SQL": str(ROLE_SQL),
    }
    result = subprocess.run(
        ["sh", str(ROLE_SCRIPT)], env=env, capture_output=True, text=True, timeout=scaled(30)
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{ROLE_SCRIPT.name} for role {role} in database {database} exited "
            f"{result.returncode}: {result.stderr.strip()}"
        )


def redis(workdir: Path, password: str) -> tuple[ManagedProcess, int]:
    import redis as redis_client

    port = free_port()

    def pong() -> bool:
        client = redis_client.Redis(port=port, password=password, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()

    process = ManagedProcess(
        name="redis",
        argv=[
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--requirepass",
            password,
            "--dir",
            str(workdir),
        ],
        ready=pong,
        starting_errors=(
            redis_client.exceptions.ConnectionError,
            redis_client.exceptions.TimeoutError,
        ),
        log_path=workdir / "redis.log",
    )
    return process, port


def moto(workdir: Path) -> tuple[ManagedProcess, int]:
    port = free_port()
    process = ManagedProcess(
        name="moto (SQS)",
        argv=[sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        ready=http_ok(f"http://127.0.0.1:{port}/moto-api/data.json"),
        log_path=workdir / "moto.log",
    )
    return process, port


def ferretdb(workdir: Path) -> tuple[ManagedProcess, int]:
    import pymongo
    import pymongo.errors

    binary = find_ferretdb()
    port = free_port()
    datadir = workdir / "ferretdb"
    datadir.mkdir(exist_ok=True)

    def pings() -> bool:
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            "127.0.0.1", port, serverSelectionTimeoutMS=1000
        )
        try:
            return bool(client.admin.command("ping").get("ok"))
        finally:
            client.close()

    process = ManagedProcess(
        name="ferretdb",
        argv=[
            binary,
            "--handler=sqlite",
            f"--sqlite-url=file:{datadir}/",
            f"--state-dir={datadir}",  # not the working directory (the repository)
            f"--listen-addr=127.0.0.1:{port}",
            "--telemetry=disable",
            "--log-level=warn",
            "--debug-addr=-",
        ],
        ready=pings,
        # not listening yet, or its PostgreSQL backend not ready: pymongo's errors, all of them
        starting_errors=(pymongo.errors.PyMongoError,),
        log_path=workdir / "ferretdb.log",
    )
    return process, port


def service(
    workdir: Path, package: str, env: Mapping[str, str], port: int | None = None
) -> tuple[ManagedProcess, str]:
    """One of the four services as `python -m system.<package>` on a free port."""
    port = port or free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PG"))}
    full_env = {**base, **env, "LISTEN_HOST": "127.0.0.1", "LISTEN_PORT": str(port)}
    url = f"http://127.0.0.1:{port}"
    process = ManagedProcess(
        name=package,
        argv=[sys.executable, "-m", f"system.{package}"],
        ready=http_ok(f"{url}/readyz"),
        log_path=workdir / f"{package}-{port}.log",
        env=full_env,
    )
    return process, url
