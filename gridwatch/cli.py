"""The `gridwatch` command: the composition root that builds and runs each process."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from gridwatch.settings import PACKAGE_DATA, Settings

if TYPE_CHECKING:
    import psycopg
    import uvicorn

    from gridwatch.embedded import Embedded
    from gridwatch.grid.model import Grid
    from ingest.sim_traffic import Scenario
    from ingest.simulator import Simulator

log = logging.getLogger("gridwatch")

# The fictional roster of the reference county (deploy/roster/README.md) that demos load.
SAMPLE_ROSTER = str(PACKAGE_DATA / "tangyin" / "roster-sample.json")
DEMO_OPERATOR, DEMO_WORKER = "O-410523-D", "W-88319ac901"
DEMO_OPENING: tuple[Scenario, ...] = ("fall", "straw_fire", "quarrel")


def _on_signals(stop: Callable[[], None]) -> None:
    def handler(signum: int, _frame: Any) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_bridge(settings: Settings, _args: argparse.Namespace) -> int:
    """MQTT → Kafka bridge."""
    from gridwatch.grid.model import Grid
    from gridwatch.kafka_admin import ensure_topics
    from ingest.bridge import Bridge
    from ingest.kafka_sink import KafkaSink

    grid = Grid.load(settings.grid.path)
    ensure_topics(settings.kafka)
    bridge = Bridge(
        mqtt_settings=settings.mqtt,
        kafka_settings=settings.kafka,
        grid=grid,
        sink=KafkaSink(settings.kafka, client_id=settings.mqtt.client_id),
    )
    _on_signals(bridge.stop)
    log.info(
        "bridge %s: %d grid cells, subscribing %s",
        settings.mqtt.client_id,
        len(grid),
        ", ".join(bridge.subscriptions),
    )
    return bridge.run()


def run_simulate(settings: Settings, args: argparse.Namespace) -> int:
    """Simulated Sharp Eyes and Blue Sky feeds, published to the MQTT broker in real time."""
    from gridwatch.grid.model import Grid
    from ingest.simulator import Simulator

    simulator = Simulator(
        Grid.load(settings.grid.path),
        settings.mqtt,
        devices=args.devices,
        seed=args.seed,
        rate=args.rate,
    )
    _on_signals(simulator.stop)
    return simulator.run(duration_s=args.duration)


def run_streams(settings: Settings, _args: argparse.Namespace) -> int:
    """The faust worker running the detectors."""
    import faust

    from gridwatch.grid.model import Grid
    from gridwatch.kafka_admin import ensure_topics
    from streams.app import create_app

    ensure_topics(settings.kafka)
    grid = Grid.load(settings.grid.path)
    worker = faust.Worker(create_app(settings, grid=grid), loglevel="INFO", quiet=True)
    worker.execute_from_commandline()
    return 0


def run_alerts(settings: Settings, _args: argparse.Namespace) -> int:
    """The incident-queue writer."""
    import psycopg

    from alerts.queue import QueueWriter
    from gridwatch.kafka_admin import ensure_topics
    from gridwatch.store.migrate import migrate
    from ingest.kafka_sink import KafkaSink

    ensure_topics(settings.kafka)
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        applied = migrate(conn)
        if applied:
            log.info("applied migrations %s", applied)
        writer = QueueWriter(
            settings, conn=conn, sink=KafkaSink(settings.kafka, client_id="gridwatch-alerts")
        )
        _on_signals(writer.stop)
        writer.run()
    return 0


async def _dispatch(settings: Settings) -> None:
    import psycopg

    from alerts.dispatcher import Dispatcher
    from gridwatch.grid.model import Grid
    from ingest.kafka_sink import KafkaSink

    sink = KafkaSink(settings.kafka, client_id="gridwatch-dispatch")
    try:
        conninfo = settings.postgres.conninfo()
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            grid = Grid.load(settings.grid.path)
            dispatcher = Dispatcher(settings, conn=conn, sink=sink, grid=grid)
            _on_signals(dispatcher.stop)
            await dispatcher.run()
    finally:
        sink.close()


def run_dispatch(settings: Settings, _args: argparse.Namespace) -> int:
    """The dispatcher: auto-dispatch, escalation and reminders."""
    import asyncio

    from gridwatch.kafka_admin import ensure_topics

    ensure_topics(settings.kafka)
    _migrated(settings)
    asyncio.run(_dispatch(settings))
    return 0


def run_api(settings: Settings, _args: argparse.Namespace) -> int:
    """The HTTP API under uvicorn."""
    from api.app import create_app
    from api.push import kafka_feed
    from gridwatch.kafka_admin import ensure_topics
    from gridwatch.photos import FilesystemPhotoStore
    from ingest.kafka_sink import KafkaSink, LazySink

    def connect() -> KafkaSink:
        ensure_topics(settings.kafka)
        return KafkaSink(settings.kafka, client_id="gridwatch-api")

    # The API serves queues from PostgreSQL even while Kafka is down; only writes need Kafka.
    sink = LazySink(connect)
    photos = FilesystemPhotoStore(settings.run_dir / "photos")
    try:
        feed = kafka_feed(settings)
        app = create_app(settings, sink=sink, photos=photos, feed=feed)
        _serve(_server(app, settings))
    finally:
        sink.close()
    return 0


def _server(app: Any, settings: Settings) -> uvicorn.Server:
    """uvicorn with wsproto, tokens kept out of its logs."""
    import uvicorn

    from api.log_redaction import uvicorn_log_config

    config = uvicorn.Config(
        app,
        host=settings.api.host,
        port=settings.api.port,
        ws="wsproto",
        log_config=uvicorn_log_config(),
    )
    return uvicorn.Server(config)


def _serve(server: uvicorn.Server) -> None:
    """Serve until Ctrl-C or SIGTERM, or until `server.should_exit` is set."""
    # Once stopped, uvicorn raises again the signal that stopped it. SIGTERM's default action
    # would then end the process before its callers' `finally` (closing the log, stopping the
    # bundled database); this handler makes it the KeyboardInterrupt that Ctrl-C gives.
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _report(embedded: Embedded, every_s: float = 10.0) -> None:
    """What is going on, every `every_s` seconds, on stderr (the process's console)."""
    import time

    read = 0
    while True:
        time.sleep(every_s)
        try:
            line, read = embedded.status(read, every_s)
        except Exception as exc:  # the status must never take the platform down
            line = f"status unavailable: {exc!r}"
        sys.stderr.write(f"[gridwatch] {line}\n")


def run_embedded(settings: Settings, args: argparse.Namespace) -> int:
    """The whole platform in one process: broker, detectors, queues, dispatch, API."""
    import threading

    from api.app import create_app
    from gridwatch.embedded import Embedded
    from gridwatch.grid.model import Grid
    from gridwatch.photos import FilesystemPhotoStore

    grid = Grid.load(settings.grid.path)
    embedded = Embedded(settings, grid)
    photos = FilesystemPhotoStore(settings.run_dir / "photos")
    app = create_app(
        settings,
        grid=grid,
        sink=embedded.sink,
        photos=photos,
        feed=embedded.feed(),
        probes=embedded.probes(),
    )
    server = _server(app, settings)

    def stop_on_failure() -> None:
        embedded.failure.wait()
        server.should_exit = True

    threading.Thread(target=stop_on_failure, name="watch", daemon=True).start()
    simulator = None
    try:
        embedded.start()
        if args.demo:
            _demo_people(settings)
            simulator = _demo_simulator(grid, settings, args)
        threading.Thread(target=_report, args=(embedded,), name="status", daemon=True).start()
        base = f"http://{settings.api.host}:{settings.api.port}"
        sys.stderr.write(f"gridwatch (embedded) at {base}/console/  ·  phone app {base}/app/\n")
        if args.demo:
            secret = settings.run_dir / "secrets" / "demo-password"
            sys.stderr.write(
                f"  sign in as operator {DEMO_OPERATOR} (console) or any worker of the sample"
                f" roster, e.g. {DEMO_WORKER} (app); the password is in {secret}\n"
            )
        _serve(server)
    finally:
        if simulator is not None:
            simulator.stop()
        embedded.stop()
    failed = embedded.failed()
    if failed:
        sys.stderr.write("gridwatch: stopped because a part failed: " + "; ".join(failed) + "\n")
        return 1
    return 0


def _demo_simulator(grid: Grid, settings: Settings, args: argparse.Namespace) -> Simulator:
    """The feed simulator of a demo, running, with trouble staged in its first half minute."""
    import threading

    from ingest.simulator import Simulator

    simulator = Simulator(grid, settings.mqtt, devices=args.devices, seed=args.seed, rate=1.0)
    # Trouble comes about every two minutes; a demo shows some at once: a fall and a quarrel
    # within seconds, smoke (and the fire after it) within two minutes.
    soon = datetime.now(UTC)
    for n, scenario in enumerate(DEMO_OPENING):
        simulator.traffic.begin(scenario, soon + timedelta(seconds=10.0 * (n + 1)))
    threading.Thread(target=simulator.run, name="simulate", daemon=True).start()
    return simulator


def _demo_people(settings: Settings) -> None:
    """The sample roster and an account per person on it, the first time a demo runs."""
    import psycopg

    from gridwatch.store.people import has_people

    with psycopg.connect(settings.postgres.conninfo()) as conn:
        if has_people(conn):
            return
    run_people(settings, argparse.Namespace(action="import", file=SAMPLE_ROSTER, replace=False))
    run_users(settings, argparse.Namespace(action="demo"))


def run_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    """Apply pending database migrations."""
    import psycopg

    from gridwatch.store.migrate import migrate

    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        applied = migrate(conn)
    log.info("applied migrations %s", applied or "none (up to date)")
    return 0


def run_schema(_settings: Settings, args: argparse.Namespace) -> int:
    """Write the JSON Schema of the v1 event contract."""
    from gridwatch.contract import contract_schema

    text = json.dumps(contract_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    """The new password from stdin when it is not a terminal, else prompted twice."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"password for {args.username}: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the passwords differ")
    return first


async def _users(settings: Settings, args: argparse.Namespace) -> int:
    import getpass
    import uuid

    import psycopg

    from api.auth import hash_password
    from gridwatch.accounts import MIN_PASSWORD_LENGTH, User
    from gridwatch.grid.model import Grid
    from gridwatch.people import ROLE_LEVELS
    from gridwatch.store.users import insert_user, list_users, record_audit

    async with await psycopg.AsyncConnection.connect(settings.postgres.conninfo()) as conn:
        if args.action == "demo":
            return await _demo_accounts(settings, conn)
        if args.action == "list":
            for u in await list_users(conn):
                state = "active" if u.active else "disabled"
                sys.stdout.write(f"{u.username}\t{u.role}\t{u.node}\t{u.id}\t{state}\n")
            return 0
        grid = Grid.load(settings.grid.path)
        levels = {c.id: "grid" for c in grid.cells} | {grid.county: "county"}
        levels |= {v.id: "village" for v in grid.villages()}
        levels |= {t.id: "township" for t in grid.townships()}
        if levels.get(args.node) not in ROLE_LEVELS[args.role]:
            allowed = ", ".join(sorted(ROLE_LEVELS[args.role]))
            raise SystemExit(f"a {args.role} belongs to a {allowed} node; {args.node!r} is not one")
        if args.person is not None:
            from gridwatch.store.people import get_person

            record = await get_person(conn, args.person)
            if record is None or not record.active:
                raise SystemExit(f"no person {args.person!r} on the roster: import it first")
        password = _read_password(args)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise SystemExit(f"refused: a password has at least {MIN_PASSWORD_LENGTH} characters")
        user = User(
            id=f"u-{uuid.uuid4().hex[:10]}",
            username=args.username,
            display_name=args.name or args.username,
            role=args.role,
            node=args.node,
            person_id=args.person,
        )
        try:
            await insert_user(conn, user, password_hash=hash_password(password))
        except psycopg.errors.UniqueViolation:
            raise SystemExit(f"username {args.username!r} is taken") from None
        detail = user.model_dump(include={"username", "role", "node", "person_id"})
        actor = f"cli:{getpass.getuser()}"
        await record_audit(
            conn, actor=actor, action="user.create", target=f"user:{user.id}", detail=detail
        )
        await conn.commit()
    sys.stdout.write(f"{user.id}\n")
    return 0


async def _demo_accounts(settings: Settings, conn: psycopg.AsyncConnection) -> int:
    """Accounts for the roster's people, all with one password generated on this machine."""
    import getpass

    from api.auth import hash_password
    from gridwatch.local_secrets import local_secret
    from gridwatch.store.users import add_roster_accounts, record_audit

    password = local_secret(settings.run_dir, "demo-password", nbytes=12)
    # One hash for all: argon2 takes ~50 ms each, a county roster has over a thousand people.
    added = await add_roster_accounts(conn, password_hash=hash_password(password))
    actor = f"cli:{getpass.getuser()}"
    detail = {"added": added}
    await record_audit(conn, actor=actor, action="user.demo", target="users", detail=detail)
    await conn.commit()
    path = settings.run_dir / "secrets" / "demo-password"
    sys.stdout.write(f"{added} accounts added; username = roster id, password in {path}\n")
    return 0


def _migrated(settings: Settings) -> None:
    import psycopg

    from gridwatch.store.migrate import migrate

    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        migrate(conn)


def run_users(settings: Settings, args: argparse.Namespace) -> int:
    """Accounts: `users add USERNAME --role ROLE --node NODE`, `users list`, `users demo`."""
    import asyncio

    _migrated(settings)
    return asyncio.run(_users(settings, args))


def run_people(settings: Settings, args: argparse.Namespace) -> int:
    """The duty roster: `people import FILE [--replace]`, `people list [--node N]`."""
    import asyncio

    from gridwatch.people_cli import people_command, read_roster_file

    doc = read_roster_file(settings, args.file) if args.action == "import" else None
    _migrated(settings)
    return asyncio.run(people_command(settings, args, doc))


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "bridge": run_bridge,
    "streams": run_streams,
    "alerts": run_alerts,
    "dispatch": run_dispatch,
    "api": run_api,
    "simulate": run_simulate,
    "run": run_embedded,
    "migrate": run_migrate,
    "schema": run_schema,
    "users": run_users,
    "people": run_people,
}


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0 (got {text})")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0 (got {text})")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; settings come from GRIDWATCH_* variables, not flags."""
    from gridwatch.people import Role

    parser = argparse.ArgumentParser(
        prog="gridwatch", description="Grid-governance platform. Settings: GRIDWATCH_* variables."
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in COMMANDS.items():
        cmd = sub.add_parser(name, help=(func.__doc__ or "").strip())
        if name == "schema":
            cmd.add_argument("output", nargs="?", default="-", help="File, or - for stdout.")
        if name == "run":
            cmd.add_argument("--demo", action="store_true", help="Also run the feed simulator.")
            cmd.add_argument("--devices", type=_positive_int, default=400, help="Simulated fleet.")
            cmd.add_argument("--seed", type=int, default=1, help="The simulated county's seed.")
        if name == "simulate":
            cmd.add_argument("--devices", type=_positive_int, default=400, help="Fleet size.")
            cmd.add_argument("--seed", type=int, default=1, help="Same seed, same county.")
            cmd.add_argument(
                "--rate", type=_positive_float, default=1.0, help="Traffic and incidents ×."
            )
            cmd.add_argument("--duration", type=_positive_float, help="Seconds; default: forever.")
        if name == "users":
            actions = cmd.add_subparsers(dest="action", required=True)
            actions.add_parser("list", help="Every account.")
            actions.add_parser(
                "demo", help="Demo/trial: an account per roster person, one generated password."
            )
            add = actions.add_parser("add", help="Create an account; password on stdin or asked.")
            add.add_argument("username")
            add.add_argument("--role", required=True, choices=get_args(Role))
            add.add_argument("--node", required=True, help="Cell, village, township or county id.")
            add.add_argument("--name", help="Display name (default: the username).")
            add.add_argument("--person", help="Roster person id the account is, e.g. W-88319ac901.")
        if name == "people":
            actions = cmd.add_subparsers(dest="action", required=True)
            listing = actions.add_parser("list", help="Active people, by id.")
            listing.add_argument("--node", help="Only those at this cell, village, township.")
            load = actions.add_parser(
                "import", help="Load a roster file, .csv or .json (deploy/roster/README.md)."
            )
            load.add_argument("file", help="A roster file, e.g. the sample: " + SAMPLE_ROSTER)
            load.add_argument(
                "--replace", action="store_true", help="Deactivate everyone not in the file."
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gridwatch` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # kafka-python narrates every connection at INFO, amqtt's state machine (transitions)
    # every state change; their warnings are what an operator needs.
    for chatty in ("kafka", "transitions"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    settings = Settings()
    if not settings.postgres.wants_bundled(args.command):
        return COMMANDS[args.command](settings, args)
    from gridwatch.store.bundled import BundledStoreError, start_bundled

    try:
        store = start_bundled(settings.run_dir / "pgdata", settings.postgres.database)
    except BundledStoreError as exc:
        raise SystemExit(f"gridwatch: {exc}") from None
    try:
        return COMMANDS[args.command](
            settings.model_copy(update={"postgres": store.settings}), args
        )
    finally:
        store.stop()


if __name__ == "__main__":
    sys.exit(main())
