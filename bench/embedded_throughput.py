"""Sustained events per second through `gridwatch run`, its memory, and what overload does.

With PostgreSQL and Mosquitto up (`bash deploy/stack up postgres mosquitto`), from the
repository root:

    .venv/bin/python -m bench.embedded_throughput [--events N] [--runs R] [--out FILE]

Each run starts `gridwatch run` on a database, run folder and ports of its own (no Kafka),
then publishes N motion events of 1 kB at QoS 1 over MQTT 3.1.1, with each broker:

- **in-process**: to the process's own broker, whose PUBACK means the event is on disk in
  the embedded log;
- **mosquitto**: to the stack's Mosquitto, from which the process bridges
  (`GRIDWATCH_MQTT__IN_PROCESS=false`); Mosquitto acknowledges on receipt and queues for the
  bridge, so its own memory is measured too;

each at two loads:

- **1×**: one device connection, 100 publishes in flight;
- **10×**: ten connections at once, each as fast as its acks allow, N events in all.

Measured: events/s from the first publish to the last PUBACK, events/s until the last event
is stored in PostgreSQL, the peak resident memory of the process (and of Mosquitto), and that
every acknowledged event was stored. Overload must slow the publishers down or queue in
Mosquitto's unlimited queue (deploy/mosquitto/mosquitto.conf), never lose events or grow the
process's memory.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from bench.measurements import READY_TIMEOUT_S, bench_options, results_head, write_results
from bench.payloads import build_events
from bench.processes import check_alive, running
from gridwatch.grid.model import Grid
from gridwatch.settings import Settings
from tests.conftest import free_port, isolated_env, private_database

IN_FLIGHT = 100
DEVICE = "bench-emb"


def rss_kib(pid: int) -> int:
    """Resident memory of a process, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text("ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def publish(port: int, payloads: list[bytes], topic: str) -> float:
    """One device connection publishing at QoS 1; seconds to its last PUBACK."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv311,
    )
    client.max_inflight_messages_set(IN_FLIGHT)
    slots, left, done = threading.BoundedSemaphore(IN_FLIGHT), [len(payloads)], threading.Event()

    def acked(*_: object) -> None:
        slots.release()
        left[0] -= 1
        if left[0] == 0:
            done.set()

    client.on_publish = acked
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.monotonic()
    for body in payloads:
        slots.acquire()
        client.publish(topic, body, qos=1)
    if not done.wait(600):
        raise RuntimeError("the broker did not acknowledge every publish")
    seconds = time.monotonic() - started
    client.disconnect()
    client.loop_stop()
    return seconds


def mosquitto_pid(base: Settings) -> int:
    """The stack's Mosquitto (deploy/stack keeps its pid in the run folder)."""
    return int((base.run_dir / "mosquitto" / "mosquitto.pid").read_text("ascii").strip())


def one_run(
    base: Settings, grid: Grid, events: int, connections: int, broker: str, log: Path
) -> dict[str, Any]:
    """Start `gridwatch run`, publish, wait until stored; the figures of this run."""
    tag = uuid.uuid4().hex[:6]
    payloads = [body for _, body in build_events(grid.cells, DEVICE, tag, events)]
    topic = f"gridwatch/v1/sharp-eyes/{DEVICE}/events"
    with tempfile.TemporaryDirectory() as run_dir:
        # A platform of its own, as the tests make one: database, run folder, ports.
        env = isolated_env(Path(run_dir))
        if broker == "mosquitto":
            mqtt_port = base.mqtt.port
            env["GRIDWATCH_MQTT__IN_PROCESS"] = "false"
            # Each run's bridge has a share group of its own: once it is gone, Mosquitto must
            # not keep queueing the next runs' events for it.
            env["GRIDWATCH_MQTT__SESSION_EXPIRY_S"] = "5"
            watched = [mosquitto_pid(base)]
        else:
            mqtt_port = free_port()
            env["GRIDWATCH_MQTT__PORT"] = str(mqtt_port)
            watched = []
        api_port, name = env["GRIDWATCH_API__PORT"], env["GRIDWATCH_POSTGRES__DATABASE"]
        with private_database(env), running(["-m", "gridwatch.cli", "run"], env, log) as proc:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while True:
                check_alive(proc, log, "gridwatch run")
                try:
                    if httpx.get(f"http://127.0.0.1:{api_port}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("gridwatch run did not become ready")
                time.sleep(0.2)
            pids = [proc.pid, *watched]
            idle = [rss_kib(pid) for pid in pids]
            peak = list(idle)
            sampling = threading.Event()

            def sample() -> None:
                while not sampling.wait(0.2):
                    peak[:] = [max(p, rss_kib(pid)) for p, pid in zip(peak, pids, strict=True)]

            sampler = threading.Thread(target=sample)
            sampler.start()
            share = [payloads[i::connections] for i in range(connections)]
            spans: list[float] = []
            started = time.monotonic()
            threads = [
                threading.Thread(target=lambda p=p: spans.append(publish(mqtt_port, p, topic)))
                for p in share
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            acked_s = time.monotonic() - started
            conninfo = base.postgres.model_copy(update={"database": name}).conninfo()
            with psycopg.connect(conninfo, autocommit=True) as conn:
                while True:
                    row = conn.execute(
                        "SELECT count(*) FROM events WHERE device_id = %s", (DEVICE,)
                    ).fetchone()
                    stored = row[0] if row else 0
                    if stored >= events or time.monotonic() - started > 600:
                        break
                    check_alive(proc, log, "gridwatch run")
                    time.sleep(0.2)
            stored_s = time.monotonic() - started
            sampling.set()
            sampler.join()
    figures = {
        "connections": connections,
        "acked_per_s": round(events / acked_s, 1),
        "stored_per_s": round(events / stored_s, 1),
        "stored": stored,
        "idle_rss_mib": round(idle[0] / 1024, 1),
        "peak_rss_mib": round(peak[0] / 1024, 1),
    }
    if watched:
        figures["mosquitto_peak_rss_mib"] = round(peak[1] / 1024, 1)
    return figures


def main() -> None:
    """Measure, print and write the results."""
    parser = bench_options(
        "bench.embedded_throughput", __doc__, 5000, Path("bench/results/embedded.json")
    )
    args = parser.parse_args()
    base = Settings()
    grid = Grid.load(base.grid.path)
    log = Path(tempfile.mkdtemp()) / "run.log"
    results: dict[str, Any] = results_head("embedded_throughput", args)
    for broker in ("in-process", "mosquitto"):
        figures: dict[str, Any] = {}
        for label, connections in (("1x", 1), ("10x", 10)):
            runs = [
                one_run(base, grid, args.events, connections, broker, log) for _ in range(args.runs)
            ]
            for run in runs:
                print(broker, label, run)
                if run["stored"] < args.events:
                    raise SystemExit(
                        f"{broker} {label}: only {run['stored']} of {args.events} events stored"
                    )
            figures[label] = {
                "runs": runs,
                "acked_per_s_median": statistics.median(r["acked_per_s"] for r in runs),
                "stored_per_s_median": statistics.median(r["stored_per_s"] for r in runs),
                "peak_rss_mib_max": max(r["peak_rss_mib"] for r in runs),
            }
        one, ten = figures["1x"], figures["10x"]
        figures["ten_vs_one"] = {
            "stored_rate_ratio": round(ten["stored_per_s_median"] / one["stored_per_s_median"], 2),
            "peak_rss_ratio": round(ten["peak_rss_mib_max"] / one["peak_rss_mib_max"], 2),
        }
        print(broker, figures["ten_vs_one"])
        results[broker] = figures
    inner, outer = results["in-process"]["1x"], results["mosquitto"]["1x"]
    results["mosquitto_vs_in_process"] = {
        "stored_rate_ratio": round(outer["stored_per_s_median"] / inner["stored_per_s_median"], 2)
    }
    print(results["mosquitto_vs_in_process"], f"(log: {log}, pid {os.getpid()})")
    write_results(args.out, results)


if __name__ == "__main__":
    main()
