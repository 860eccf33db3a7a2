"""Throughput of the MQTT → Kafka bridge next to its two halves alone: paho and kafka-python.

With the stack up (`bash deploy/stack up`), from the repository root:

    .venv/bin/python -m bench.bridge_throughput [--events N] [--runs R] [--out FILE]
        [--profile-bridge FILE]

Each round measures, with the same 1 kB events: A. a paho subscriber alone, B. the bridge's
Kafka producer alone, C. the real bridge process, MQTT in → Kafka out (see bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.kafka_side import EventsTail, create_topic, delete_topics, measure_producer
from bench.measurements import (
    READY_TIMEOUT_S,
    CpuMeter,
    Measurement,
    bench_options,
    results_head,
    summary,
    write_results,
)
from bench.mqtt_load import (
    PUBLISH_WINDOW,
    Arrivals,
    Publisher,
    await_arrivals,
    connect,
    disconnect,
    measure_paho,
    new_client,
)
from bench.payloads import EVENT_TYPE, PAYLOAD_BYTES, build_events, padded_event
from bench.processes import REPO, check_alive, running
from gridwatch.grid.model import Cell, Grid
from gridwatch.settings import KafkaSettings, MqttSettings, Settings

DEFAULT_OUT = REPO / "bench" / "results" / "bridge_throughput.json"


# --- the bridge ----------------------------------------------------------------------------


def bridge_env(suffix: str) -> dict[str, str]:
    """GRIDWATCH_* variables giving the bench bridge its own topics, session and group."""
    return {
        "GRIDWATCH_KAFKA__TOPIC_PREFIX": f"bench{suffix}",
        "GRIDWATCH_MQTT__CLIENT_ID": f"bench-{suffix}",
        "GRIDWATCH_MQTT__SHARE_GROUP": f"bench{suffix}",
        "GRIDWATCH_MQTT__SESSION_EXPIRY_S": "60",
    }


@contextmanager
def running_bridge(
    env: dict[str, str], log_path: Path, profile: Path | None
) -> Iterator[subprocess.Popen[bytes]]:
    """The real bridge process (under `bench.profile_bridge` if profiling); SIGTERM at the end."""
    command = ["-m", "gridwatch.cli", "bridge"]
    if profile is not None:
        command = ["-m", "bench.profile_bridge", str(profile.resolve())]
    with running(command, env, log_path) as proc:
        yield proc


def wait_for_bridge(
    tail: EventsTail, alive: Callable[[], None], settings: MqttSettings, topic: str, probe: bytes
) -> None:
    """Publish a probe event until the bridge has written one to the events topic."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    seen: list[str] = []
    client = new_client("probe")
    connect(client, settings)
    try:
        while not seen:
            alive()
            if time.monotonic() > deadline:
                raise RuntimeError("the bridge did not pass a probe event to Kafka")
            client.publish(topic, probe, qos=1).wait_for_publish(READY_TIMEOUT_S)
            tail.poll(seen.append, timeout_ms=500)
    finally:
        disconnect(client)


@dataclass(frozen=True)
class Bench:
    """What every round uses: the brokers, the grid's cells, the device and the running bridge."""

    mqtt: MqttSettings
    kafka: KafkaSettings
    cells: Sequence[Cell]
    device: str
    bridge_pid: int
    tail: EventsTail

    @property
    def mqtt_topic(self) -> str:
        """The device's events topic, which the bridge subscribes to."""
        return f"gridwatch/v1/sharp-eyes/{self.device}/events"

    @property
    def producer_topic(self) -> str:
        """The topic of the producer-alone measurement."""
        return self.kafka.topic("producer")


def measure_bridge(bench: Bench, payloads: list[bytes], tag: str) -> Measurement:
    """Events/s arriving in the events topic while the publisher feeds the bridge."""
    meter = CpuMeter({"bridge": bench.bridge_pid, "reader": os.getpid()})
    arrivals = Arrivals(len(payloads), meter)

    def on_event(ident: str) -> None:
        if ident.startswith(f"{tag}-"):
            arrivals.note(ident)

    publisher = Publisher(bench.mqtt, bench.mqtt_topic, payloads).start()
    await_arrivals(arrivals, publisher, lambda: bench.tail.poll(on_event))
    return arrivals.measurement(publisher)


def run_round(bench: Bench, tag: str, n: int) -> dict[str, Measurement]:
    """A, B and C once each, with the same fresh events."""
    events = build_events(bench.cells, bench.device, tag, n)
    payloads = [body for _, body in events]
    records = [(cell.id.encode(), body) for cell, body in events]
    return {
        "paho_subscriber": measure_paho(bench.mqtt, payloads),
        "kafka_producer": measure_producer(bench.kafka, bench.producer_topic, records),
        "bridge": measure_bridge(bench, payloads, tag),
    }


# --- report --------------------------------------------------------------------------------

NAMES = {
    "paho_subscriber": "A  paho subscriber alone",
    "kafka_producer": "B  kafka-python producer alone",
    "bridge": "C  bridge, MQTT in → Kafka out",
}


def print_table(results: dict[str, dict[str, Any]], ratios: dict[str, float]) -> None:
    """The figures as a small table."""
    print(f"\n{'':32}{'median':>8}  {'runs':<22}{'publisher':>9}  lost  cores busy")
    for key, name in NAMES.items():
        res = results[key]
        runs = " ".join(f"{r:,}" for r in res["runs"])
        pub = f"{res['publisher_median']:,}" if res["publisher_median"] else "-"
        lost = sum(res["lost"])
        busy = " ".join(f"{k} {v:.2f}" for k, v in res["cores_busy_median"].items())
        print(f"{name:32}{res['median']:>8,}  {runs:<22}{pub:>9}  {lost:>4}  {busy}")
    print(
        "(per second; publisher = the MQTT publisher's own rate, first publish → last PUBACK;\n"
        " cores busy = CPU seconds per wall second of each process over the measured span)"
    )
    for key, value in ratios.items():
        print(f"{key}: {value:.2f}")


# --- main ----------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, list[Measurement]]:
    """Start the bridge, then run A, B and C once per round; delete the topics at the end."""
    settings = Settings()
    suffix = uuid.uuid4().hex[:8]
    env = bridge_env(suffix)
    kafka = settings.kafka.model_copy(update={"topic_prefix": env["GRIDWATCH_KAFKA__TOPIC_PREFIX"]})
    log_path = Path(tempfile.mkdtemp(prefix="gridwatch-bench-")) / "bridge.log"
    print(f"bridge log: {log_path}")
    runs: dict[str, list[Measurement]] = {key: [] for key in NAMES}
    try:
        with (
            running_bridge(env, log_path, args.profile_bridge) as bridge,
            closing(EventsTail(kafka, kafka.topic("events"))) as tail,
        ):
            alive = partial(check_alive, bridge, log_path, "the bridge")
            cells = Grid.load(settings.grid.path).cells
            bench = Bench(settings.mqtt, kafka, cells, f"bench-{suffix}", bridge.pid, tail)
            tail.attach(alive)
            probe = padded_event(cells[0], bench.device, "probe", PAYLOAD_BYTES)
            wait_for_bridge(tail, alive, bench.mqtt, bench.mqtt_topic, probe)
            create_topic(kafka, bench.producer_topic)
            for r in range(args.runs):
                for key, measurement in run_round(bench, f"r{r}", args.events).items():
                    runs[key].append(measurement)
                alive()
                rates = ", ".join(f"{key} {rs[-1].rate:,.0f}/s" for key, rs in runs.items())
                print(f"round {r + 1}/{args.runs}: {rates}")
    finally:
        print(f"deleted topics: {', '.join(delete_topics(kafka)) or 'none'}")
    return runs


def report(args: argparse.Namespace, runs: dict[str, list[Measurement]]) -> dict[str, Any]:
    """The results document."""
    results = {
        "paho_subscriber": summary(runs["paho_subscriber"], "messages/s"),
        "kafka_producer": summary(runs["kafka_producer"], "records/s"),
        "bridge": summary(runs["bridge"], "events/s"),
    }
    bridge = results["bridge"]["median"]
    ratios = {
        "bridge / paho subscriber alone": round(bridge / results["paho_subscriber"]["median"], 3),
        "bridge / kafka producer alone": round(bridge / results["kafka_producer"]["median"], 3),
    }
    return {
        **results_head("bridge_throughput", args),
        "payload_bytes": PAYLOAD_BYTES,
        "event_type": EVENT_TYPE,
        "publish_window": PUBLISH_WINDOW,
        "profiled": args.profile_bridge is not None,
        "results": results,
        "ratios": ratios,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = bench_options("bench.bridge_throughput", __doc__, 20_000, DEFAULT_OUT)
    parser.add_argument(
        "--profile-bridge",
        type=Path,
        metavar="FILE",
        help="Run the bridge under cProfile (every thread) and write its stats to FILE.",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and write the results file."""
    args = parse_args(argv)
    doc = report(args, measure(args))
    print_table(doc["results"], doc["ratios"])
    write_results(args.out, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
