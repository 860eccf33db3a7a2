"""Fixtures of the integration and browser tests: the real stack, a database and topics per run."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord

from api.auth import hash_password, issue_access, signing_key
from gridwatch.accounts import User
from gridwatch.grid.model import Grid
from gridwatch.kafka_admin import ensure_topics
from gridwatch.people import Role
from gridwatch.settings import Settings
from gridwatch.store.migrate import migrate
from gridwatch.store.users import insert_user
from ingest.kafka_sink import KafkaSink
from tests.far_cells import FarCells

REPO = Path(__file__).resolve().parents[1]


def wait_until(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def stack() -> None:
    """Mosquitto, Kafka and PostgreSQL, started by the project's script (idempotent)."""
    subprocess.run(["bash", str(REPO / "deploy" / "stack"), "up"], check=True)


def isolated_env(run_dir: Path) -> dict[str, str]:
    """GRIDWATCH_* variables of a platform of its own: database, topics, MQTT session, port."""
    suffix = uuid.uuid4().hex[:8]
    return {
        "GRIDWATCH_KAFKA__TOPIC_PREFIX": f"gwt{suffix}",
        "GRIDWATCH_KAFKA__PARTITIONS": "3",
        "GRIDWATCH_POSTGRES__DATABASE": f"gridwatch_t{suffix}",
        "GRIDWATCH_MQTT__CLIENT_ID": f"bridge-{suffix}",
        "GRIDWATCH_MQTT__SHARE_GROUP": f"g{suffix}",
        # A dead test run's bridge session must not keep queueing messages in the broker.
        "GRIDWATCH_MQTT__SESSION_EXPIRY_S": "300",
        "GRIDWATCH_API__PORT": str(free_port()),
        "GRIDWATCH_RUN_DIR": str(run_dir),
    }


@contextmanager
def private_database(env: Mapping[str, str]) -> Iterator[None]:
    """The database `env` names, created on entry and dropped (with what is in it) on exit."""
    base = Settings()
    name = env["GRIDWATCH_POSTGRES__DATABASE"]
    with psycopg.connect(base.postgres.conninfo(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    try:
        yield
    finally:
        with psycopg.connect(base.postgres.conninfo(), autocommit=True) as conn:
            # An autovacuum worker in the database cannot be ended by our role: it leaves soon.
            for attempt in range(20):
                try:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())
                    break
                except psycopg.errors.InsufficientPrivilege:
                    if attempt == 19:
                        raise
                    time.sleep(0.5)


@contextmanager
def environ(env: Mapping[str, str]) -> Iterator[None]:
    """`env` in os.environ for the duration, as the processes under test will see it."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def run_env(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """GRIDWATCH_* variables isolating this test run: own database, topics, MQTT session."""
    env = isolated_env(tmp_path_factory.mktemp("run"))
    with private_database(env):
        yield env


@pytest.fixture(scope="session")
def settings(run_env: dict[str, str]) -> Iterator[Settings]:
    """Settings as the processes under test see them."""
    with environ(run_env):
        yield Settings()


class Proc:
    """One `gridwatch <command> [options]` process with its output in a log file."""

    def __init__(self, command: str, env: dict[str, str], log_path: Path) -> None:
        self.command = command
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Proc:
        """Start (or restart) the process."""
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "gridwatch.cli", *self.command.split()],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        return self

    def alive(self) -> bool:
        """Still running."""
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        if self._log is not None:
            self._log.close()

    def tail(self, lines: int = 40) -> str:
        """The end of its log."""
        text = self.log_path.read_text("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def procs(
    run_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Proc]]:
    """Start gridwatch processes; all are stopped, and their logs shown, when the module ends.

    Per module, not per session: processes of earlier modules would otherwise keep running
    and load the 2-core machine under the timing-sensitive tests that follow.
    """
    # `env` goes over the run's variables: a second platform with settings of its own.
    log_dir = tmp_path_factory.mktemp("logs")
    started: list[Proc] = []

    def start(command: str, env: Mapping[str, str] | None = None) -> Proc:
        name = command.split()[0]
        log_path = log_dir / (f"{name}.log" if env is None else f"{name}-{len(started)}.log")
        proc = Proc(command, {**run_env, **(env or {})}, log_path).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
    for proc in started:
        sys.stderr.write(f"\n--- {proc.log_path.name} tail ---\n{proc.tail()}\n")


def mosquitto_pub_command(
    settings: Settings, topic: str, *options: str, protocol: str = "mqttv5"
) -> list[str]:
    """The real mosquitto_pub client publishing QoS 1 to `topic` (MQTT 5, or `protocol`)."""
    mqtt = ["-h", settings.mqtt.host, "-p", str(settings.mqtt.port), "-V", protocol, "-q", "1"]
    return ["mosquitto_pub", *mqtt, "-t", topic, *options]


def mosquitto_pub(
    settings: Settings, topic: str, message: bytes, *, protocol: str = "mqttv5"
) -> None:
    """Publish one message read from stdin (-s)."""
    command = mosquitto_pub_command(settings, topic, "-s", protocol=protocol)
    subprocess.run(command, input=message, check=True, timeout=30)


@pytest.fixture(scope="session")
def grid(settings: Settings) -> Grid:
    """The grid the processes under test load."""
    return Grid.load(settings.grid.path)


@pytest.fixture(scope="session")
def far_cells(grid: Grid) -> FarCells:
    """The run's cells for tests that raise incidents (see FarCells)."""
    return FarCells(grid)


def read_topic(
    settings: Settings,
    name: str,
    wanted: Callable[[ConsumerRecord], bool],
    *,
    count: int = 1,
    timeout: float = 90.0,
) -> list[ConsumerRecord]:
    """Records of one of our topics (by short name) that `wanted` picks, until `count` came."""
    consumer = KafkaConsumer(
        settings.kafka.topic(name),
        bootstrap_servers=settings.kafka.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    found: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            for record in consumer:
                if wanted(record):
                    found.append(record)
                if len(found) >= count:
                    # A busy topic never falls idle for consumer_timeout_ms: stop when served.
                    break
    finally:
        consumer.close()
    return found


def add_user(
    settings: Settings,
    role: Role,
    node: str,
    *,
    password: str = "a long passphrase",
    person_id: str | None = None,
) -> User:
    """A new account in the run's database (migrated first), with `password`."""
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    user = User(
        id=f"u-{name}", username=name, display_name=name, role=role, node=node, person_id=person_id
    )

    async def insert() -> None:
        async with await psycopg.AsyncConnection.connect(settings.postgres.conninfo()) as conn:
            await insert_user(conn, user, password_hash=hash_password(password))

    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        migrate(conn)
    asyncio.run(insert())
    return user


def bearer(settings: Settings, user: User) -> dict[str, str]:
    """Authorization headers of `user`, signed with the key the API under test uses."""
    key = signing_key(settings.auth, settings.run_dir)
    token = issue_access(user, auth=settings.auth, key=key, now=datetime.now(UTC)).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def operator(settings: Settings, grid: Grid) -> User:
    """An operator account of the county."""
    return add_user(settings, "operator", grid.county)


@pytest.fixture
def operator_headers(settings: Settings, operator: User) -> dict[str, str]:
    """A fresh access token of the operator, as request headers."""
    return bearer(settings, operator)


@pytest.fixture(scope="session")
def sink(settings: Settings) -> Iterator[KafkaSink]:
    """A producer to this run's topics, for the API apps tests build."""
    ensure_topics(settings.kafka)
    producer = KafkaSink(settings.kafka, client_id=f"test-{uuid.uuid4().hex[:8]}")
    yield producer
    producer.close()
