"""The sample roster of the reference county: it fits the real grid and staffs every cell."""

from __future__ import annotations

import importlib.util
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest

from alerts.assignment import AssignmentRequest, assign
from gridwatch.assignment_settings import AssignmentSettings
from gridwatch.grid.model import Grid
from gridwatch.incidents import Severity
from gridwatch.people import RosterDocument, unknown_nodes
from gridwatch.roster_csv import read_roster_csv
from gridwatch.settings import PACKAGE_DATA

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "gridwatch" / "data" / "tangyin" / "roster-sample.json"
SAMPLE_CSV = REPO / "deploy" / "roster" / "roster-sample.csv"
BUILDER = REPO / "deploy" / "roster" / "build_sample_roster.py"


@pytest.fixture(scope="module")
def grid() -> Grid:
    return Grid.load(PACKAGE_DATA / "tangyin" / "grid.geojson")


@pytest.fixture(scope="module")
def sample() -> RosterDocument:
    return RosterDocument.model_validate_json(SAMPLE.read_text(encoding="utf-8"))


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_sample_roster", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sample_fits_the_grid_with_a_worker_in_every_cell(
    grid: Grid, sample: RosterDocument
) -> None:
    assert unknown_nodes(sample.people, grid) == []
    workers = {p.node for p in sample.people if p.role == "worker"}
    assert workers == {c.id for c in grid.cells}
    assert "FICTIONAL" in sample.note
    assert all(p.phone is None for p in sample.people)
    assert SAMPLE.stat().st_size < 1_000_000


def test_the_committed_sample_is_what_the_script_builds(grid: Grid) -> None:
    builder = _builder()
    doc = builder.build(grid, builder.SEED)
    assert builder.render(doc) == SAMPLE.read_text(encoding="utf-8")
    assert builder.render_roster_csv(doc) == SAMPLE_CSV.read_bytes()


def test_the_committed_csv_reads_as_the_committed_json(grid: Grid, sample: RosterDocument) -> None:
    from_csv = read_roster_csv(SAMPLE_CSV.read_bytes(), county=grid.county)
    # The note is the JSON's alone: a CSV has nowhere to keep one.
    assert from_csv == sample.model_copy(update={"note": ""})
    assert len(from_csv.people) > 1500


def test_a_hazard_in_a_random_cell_goes_to_its_worker_by_day_and_up_by_night(
    grid: Grid, sample: RosterDocument
) -> None:
    rng = random.Random(4105)
    for cell in rng.sample(grid.cells, 5):
        [worker] = [p for p in sample.people if p.role == "worker" and p.node == cell.id]
        [shift] = sample.roster.shifts_of(worker.id)
        # The first day from 2026-11-30 (a Monday) on which their shift starts, mid-morning.
        day = next(
            d
            for d in (date(2026, 11, 30) + timedelta(days=i) for i in range(7))
            if shift.starts_on(d)
        )
        morning = datetime.combine(day, time(10, 30), ZoneInfo("Asia/Shanghai"))
        incident = AssignmentRequest(
            cell_id=cell.id,
            kind="hazard",
            category="smoke",
            severity=Severity.MEDIUM,
            lon=cell.centroid[0],
            lat=cell.centroid[1],
        )
        got = [
            assign(
                incident,
                people=sample.people,
                roster=sample.roster,
                fixes={},
                loads={},
                grid=grid,
                cfg=AssignmentSettings(),
                at=at,
            )
            for at in (morning, morning + timedelta(hours=12))
        ]
        assert (got[0].primary, got[0].rule) == ([worker.id], "cell_worker")
        # At night no worker is on shift: the township's night supervisor is.
        assert (got[1].primary, got[1].rule) == ([f"S-{cell.township_id}-N"], "township")
