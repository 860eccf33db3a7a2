"""Detector throughput per core, and the end-to-end rate of one faust worker on the real Kafka.

With the stack up (`bash deploy/stack up`), from the repository root:

    .venv/bin/python -m bench.detectors [--events N] [--runs R] [--out FILE]

Each round takes the same pre-built, pre-routed county mix (bench/event_mix.py) through: the
baseline of parsing it from JSON; stage one alone and both stages in process, with live state
and with state kept as JSON like faust's tables; then, on fresh topics, the baseline of an
aiokafka reader of the events and one `gridwatch streams` worker draining them (see
bench/README.md).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.event_mix import POOLS, build_mix
from bench.faust_worker import Record, closing_fires, encoded, measure_worker
from bench.measurements import Span, bench_options, results_head, span_summary, write_results
from bench.processes import REPO
from bench.state_tables import CellsAsJson, CellsInMemory, PipelineAsJson
from gridwatch.grid.model import Grid
from gridwatch.records import RoutedEvent
from gridwatch.settings import Settings
from gridwatch.wire import CELL_RECORD
from streams.runner import Pipeline

DEFAULT_OUT = REPO / "bench" / "results" / "detectors.json"
WARM_UP = 500  # events through every in-process variant before the first round, untimed

NAMES = {
    "parse": "parse from JSON (baseline)",
    "stage_one": "stage one, step_cell",
    "stage_one_json": "stage one, state as JSON",
    "pipeline": "both stages, Pipeline.feed",
    "pipeline_json": "both stages, state as JSON",
    "consume_only": "aiokafka reader (baseline)",
    "faust_worker": "one faust worker",
}
# Each ratio is taken within a run, then the median over the runs.
RATIOS: tuple[tuple[str, str, str, str], ...] = (
    ("pipeline / parse", "pipeline", "parse", "rate"),
    ("pipeline as JSON / pipeline", "pipeline_json", "pipeline", "rate"),
    ("faust worker / consume-only", "faust_worker", "consume_only", "rate"),
    ("faust worker / pipeline", "faust_worker", "pipeline", "rate"),
    ("faust worker / pipeline, per core", "faust_worker", "pipeline", "per_core"),
    ("faust worker / pipeline as JSON, per core", "faust_worker", "pipeline_json", "per_core"),
)


@dataclass(frozen=True)
class Workload:
    """The events, their JSON bytes, and for Kafka the records with one closing fire a partition."""

    settings: Settings
    grid: Grid
    events: list[RoutedEvent]
    blobs: list[bytes]
    records: list[Record]
    ends: set[str]


def workload(settings: Settings, n: int) -> Workload:
    """Build and route the mix (untimed)."""
    grid = Grid.load(settings.grid.path)
    events = build_mix(grid, n)
    fires = closing_fires(
        grid, settings.kafka.partitions, events[-1].event.time + timedelta(seconds=1)
    )
    records = [encoded(e) for e in [*events, *fires]]
    blobs = [value for _, value in records[:n]]
    return Workload(settings, grid, events, blobs, records, {f.event.id for f in fires})


def timed(feed: Callable[[Any], object], items: Sequence[Any]) -> Span:
    """Feed every item: wall seconds and this process's CPU seconds."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        feed(item)
    return Span(len(items), time.perf_counter() - wall, time.process_time() - cpu)


def in_process(work: Workload, count: int) -> dict[str, Span]:
    """The parse baseline and the four in-process variants, each over the first `count` events."""
    cfg, events = work.settings.detect, work.events[:count]
    return {
        "parse": timed(CELL_RECORD.validate_json, work.blobs[:count]),
        "stage_one": timed(CellsInMemory(cfg).feed, events),
        "stage_one_json": timed(CellsAsJson(cfg).feed, events),
        "pipeline": timed(Pipeline(cfg, work.grid).feed, events),
        "pipeline_json": timed(PipelineAsJson(cfg, work.grid).feed, events),
    }


def measure(args: argparse.Namespace) -> tuple[Workload, dict[str, list[Span]], list[float]]:
    """Every measurement once per round; the faust worker on fresh topics each time."""
    work = workload(Settings(), args.events)
    in_process(work, WARM_UP)
    workdir = Path(tempfile.mkdtemp(prefix="gridwatch-bench-"))
    print(f"worker logs: {workdir}")
    runs: dict[str, list[Span]] = {key: [] for key in NAMES}
    committed: list[float] = []
    for r in range(args.runs):
        spans = in_process(work, args.events)
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        kafka = work.settings.kafka.model_copy(update={"topic_prefix": prefix})
        worker, spans["consume_only"] = measure_worker(kafka, work.records, work.ends, workdir)
        spans["faust_worker"] = worker.span
        committed.append(worker.committed_after_s)
        for key, span in spans.items():
            runs[key].append(span)
        rates = ", ".join(f"{key} {span.rate:,.0f}/s" for key, span in spans.items())
        print(f"round {r + 1}/{args.runs}: {rates}")
    return work, runs, committed


def ratios(runs: dict[str, list[Span]]) -> dict[str, dict[str, Any]]:
    """Each ratio per run (the same run's baseline), and its median."""
    out = {}
    for name, top, bottom, measure_ in RATIOS:
        per_run = [
            getattr(a, measure_) / getattr(b, measure_)
            for a, b in zip(runs[top], runs[bottom], strict=True)
        ]
        out[name] = {
            "median": round(statistics.median(per_run), 3),
            "runs": [round(x, 3) for x in per_run],
        }
    return out


def report(
    args: argparse.Namespace, work: Workload, runs: dict[str, list[Span]], committed: list[float]
) -> dict[str, Any]:
    """The results document."""
    events = work.events
    span = events[-1].event.time - events[0].event.time
    return {
        **results_head("detectors", args),
        "mix": {
            "types": dict(Counter(e.event.type for e in events).most_common()),
            "devices": len({e.device_id for e in events}),
            "devices_per_pool": POOLS,
            "cells": len({e.cell_id for e in events}),
            "event_time_span_s": round(span.total_seconds()),
            "closing_fires": len(work.ends),
            "partitions": work.settings.kafka.partitions,
        },
        "results": {
            key: {"what": NAMES[key], "unit": "events/s", **span_summary(runs[key])}
            for key in NAMES
        },
        "faust_worker_committed_after_s": [round(c, 2) for c in committed],
        "ratios": ratios(runs),
    }


def print_table(doc: dict[str, Any]) -> None:
    """The figures as a small table."""
    print(f"\n{'':30}{'events/s':>9}  {'runs':<22}{'per core':>9}  cores busy")
    for res in doc["results"].values():
        runs = " ".join(f"{r:,}" for r in res["runs"])
        print(
            f"{res['what']:30}{res['median']:>9,}  {runs:<22}"
            f"{res['per_core_median']:>9,}  {res['cores_busy_median']:.2f}"
        )
    print(
        "(medians; per core = events per CPU second of the process doing the work: this one,\n"
        " or the worker's, read from /proc; faust worker = its first output to the incident of\n"
        " the last event of every partition, by the records' timestamps)"
    )
    committed = ", ".join(f"{c:.1f}" for c in doc["faust_worker_committed_after_s"])
    print(f"worker's group committed every event after {committed} s")
    for name, value in doc["ratios"].items():
        print(f"{name}: {value['median']:.3f}  (runs {', '.join(map(str, value['runs']))})")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    return bench_options("bench.detectors", __doc__, 10_000, DEFAULT_OUT).parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and write the results file."""
    args = parse_args(argv)
    if args.events < WARM_UP:
        raise SystemExit(f"--events must be at least {WARM_UP}")
    doc = report(args, *measure(args))
    print_table(doc)
    write_results(args.out, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
