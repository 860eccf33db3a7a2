"""What the bench measures and keeps: rates, CPU use, summaries and the machine's facts."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

# Safety nets for start-up and for a publisher that hangs; never part of a measurement.
READY_TIMEOUT_S = 60.0
PUBLISH_TIMEOUT_S = 600.0
# crc32c is optional for kafka-python, which falls back to a pure-Python CRC-32C without it.
LIBRARIES = (
    "paho-mqtt",
    "kafka-python",
    "crc32c",
    "pydantic",
    "pydantic-core",
    "shapely",
    "faust-streaming",
    "aiokafka",
)


@dataclass(frozen=True)
class Measurement:
    """One run of one measurement: its rate, the publisher's rate and what went missing."""

    rate: float
    publisher_rate: float | None = None
    lost: int = 0
    duplicates: int = 0
    # Cores each process kept busy over the measured span (1.0 = one full core).
    cpu: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    """The publisher's report: seconds from first publish to last PUBACK, and its CPU seconds."""

    seconds: float
    cpu_seconds: float


@dataclass(frozen=True)
class Span:
    """Events handled over a span of wall time, and the CPU seconds their handler used."""

    events: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        """Events per wall second."""
        return self.events / self.seconds

    @property
    def per_core(self) -> float:
        """Events per CPU second: the rate one fully busy core would give."""
        return self.events / self.cpu_seconds


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Cores kept busy by named processes between `start` and `busy`."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._started = time.monotonic()
        self._base = {name: 0.0 for name in pids}

    def start(self) -> None:
        """Begin the span."""
        self._started = time.monotonic()
        self._base = {name: cpu_seconds(pid) for name, pid in self._pids.items()}

    def busy(self) -> dict[str, float]:
        """CPU seconds per wall second of each process since `start`."""
        wall = time.monotonic() - self._started
        return {
            name: round((cpu_seconds(pid) - self._base[name]) / wall, 2)
            for name, pid in self._pids.items()
        }


def summary(runs: list[Measurement], unit: str) -> dict[str, Any]:
    """Median and individual runs of one measurement."""
    publisher = [r.publisher_rate for r in runs if r.publisher_rate is not None]
    return {
        "unit": unit,
        "median": round(statistics.median(r.rate for r in runs)),
        "runs": [round(r.rate) for r in runs],
        "publisher_median": round(statistics.median(publisher)) if publisher else None,
        "publisher_runs": [round(p) for p in publisher] or None,
        "lost": [r.lost for r in runs],
        "duplicates": [r.duplicates for r in runs],
        "cores_busy_median": {
            name: round(statistics.median(r.cpu[name] for r in runs), 2) for name in runs[0].cpu
        },
        "detail": [asdict(r) for r in runs],
    }


def span_summary(runs: list[Span]) -> dict[str, Any]:
    """Medians and runs of events/s and of events per CPU second, and the cores kept busy."""
    return {
        "median": round(statistics.median(r.rate for r in runs)),
        "runs": [round(r.rate) for r in runs],
        "per_core_median": round(statistics.median(r.per_core for r in runs)),
        "per_core_runs": [round(r.per_core) for r in runs],
        "cores_busy_median": round(statistics.median(r.cpu_seconds / r.seconds for r in runs), 2),
        "detail": [asdict(r) for r in runs],
    }


def installed_version(name: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """Facts about where the figures come from."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "libraries": {name: installed_version(name) for name in LIBRARIES},
    }


def bench_options(prog: str, doc: str | None, events: int, out: Path) -> argparse.ArgumentParser:
    """A parser of the options every benchmark takes: --events, --runs and --out."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {prog}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=events, help="Events per run.")
    parser.add_argument("--runs", type=int, default=3, help="Runs of each measurement.")
    parser.add_argument("--out", type=Path, default=out, help="Results JSON file.")
    return parser


def results_head(benchmark: str, args: argparse.Namespace) -> dict[str, Any]:
    """What every results document begins with: which benchmark, when, where, how much."""
    return {
        "benchmark": benchmark,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "events": args.events,
        "runs": args.runs,
    }


def write_results(out: Path, doc: dict[str, Any]) -> None:
    """Write the results document as JSON and say where."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
