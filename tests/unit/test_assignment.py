"""The assignment policy: each rule of the cascade, in order, on a hand-made four-cell grid."""

from __future__ import annotations

import random
from datetime import datetime, time

import pytest
from shapely.geometry import box

from alerts.assignment import Assignment, AssignmentRequest, assign
from gridwatch.assignment_settings import AssignmentSettings
from gridwatch.grid.model import Cell, Grid
from gridwatch.incidents import IncidentKind, Severity
from gridwatch.people import LastFix, Load, Person, Roster, Shift
from tests.support import T0, later

CFG = AssignmentSettings(
    fix_max_age_s=600, fix_max_accuracy_m=200, neighbour_distance_m=1500, max_load=3
)
# One row of 0.01° squares (about 900 m wide here): a1 a2 a3 side by side, b1 some 8 km east.
# a1 and a2 are village V1, a3 village V2, all in township T1; b1 is village V3 of township T2.
LAYOUT = {
    "a1": (114.30, "V1", "T1"),
    "a2": (114.31, "V1", "T1"),
    "a3": (114.32, "V2", "T1"),
    "b1": (114.40, "V3", "T2"),
}
# The incident is in a2, near its eastern edge: a3's centroid is ~630 m away, a1's ~1,170 m.
HERE = (114.318, 35.905)


def _cell(cell_id: str, lon0: float, village: str, township: str) -> Cell:
    square = box(lon0, 35.90, lon0 + 0.01, 35.91)
    return Cell(
        id=cell_id,
        township_id=township,
        township_name=township,
        village_id=village,
        village_name=village,
        centroid=(lon0 + 0.005, 35.905),
        area_km2=1.0,
        polygon=square,
    )


GRID = Grid([_cell(k, *v) for k, v in LAYOUT.items()], meta={"adcode": "410523"})


def _person(pid: str, role: str, level: str, node: str) -> Person:
    return Person.model_validate(
        {"id": pid, "name": pid, "role": role, "level": level, "node": node}
    )


PEOPLE = [
    _person("W-a1", "worker", "grid", "a1"),
    _person("W-a2", "worker", "grid", "a2"),
    _person("W-a2b", "worker", "grid", "a2"),
    _person("W-a3", "worker", "grid", "a3"),
    _person("W-b1", "worker", "grid", "b1"),
    _person("M-V1", "mediator", "village", "V1"),
    _person("S-V1", "supervisor", "village", "V1"),
    _person("M-V2", "mediator", "village", "V2"),
    _person("M-T1", "mediator", "township", "T1"),
    _person("S-T1", "supervisor", "township", "T1"),
    _person("S-C", "supervisor", "county", "410523"),
    _person("O-1", "operator", "county", "410523"),
    _person("O-2", "operator", "county", "410523"),
    _person("A-1", "admin", "county", "410523"),
]


def on_shift(*ids: str) -> Roster:
    """A roster on which exactly these people are on duty, all day every day."""
    every_day = (1, 2, 3, 4, 5, 6, 7)
    return Roster(
        shifts=tuple(Shift(person_id=i, weekdays=every_day, start=time(), end=time()) for i in ids)
    )


def fix(metres_east: float, *, age_s: float = 0, accuracy_m: float = 10) -> LastFix:
    """A fix this many metres east of the incident, taken `age_s` seconds before T0."""
    return LastFix(
        lon=HERE[0] + metres_east / 90_200,
        lat=HERE[1],
        accuracy_m=accuracy_m,
        at=later(-age_s),
    )


def run(
    roster: Roster,
    *,
    kind: IncidentKind = "hazard",
    fixes: dict[str, LastFix] | None = None,
    loads: dict[str, int] | None = None,
    people: list[Person] = PEOPLE,
    cell_id: str = "a2",
    where: tuple[float, float] = HERE,
    at: datetime = T0,
) -> Assignment:
    incident = AssignmentRequest(
        cell_id=cell_id,
        kind=kind,
        category="quarrel" if kind == "dispute" else "fire",
        severity=Severity.HIGH,
        lon=where[0],
        lat=where[1],
    )
    return assign(
        incident,
        people=people,
        roster=roster,
        fixes=fixes or {},
        loads={k: Load(open_assignments=v) for k, v in (loads or {}).items()},
        grid=GRID,
        cfg=CFG,
        at=at,
    )


@pytest.mark.parametrize("kind", ["hazard", "maintenance"])
def test_an_incident_goes_to_the_on_duty_worker_of_its_cell(kind: IncidentKind) -> None:
    got = run(on_shift("W-a1", "W-a2", "W-a3", "M-V1", "S-T1", "O-1"), kind=kind)
    assert (got.primary, got.rule) == (["W-a2"], "cell_worker")
    assert "cell a2" in got.reason


def test_a_worker_off_shift_is_not_chosen() -> None:
    day_only = Shift(person_id="W-a2", weekdays=[6], start=time(8), end=time(20))
    roster = Roster(shifts=(day_only, *on_shift("W-a3").shifts))
    # T0 is Saturday 09:14 in the county: on shift; twelve hours later: off.
    assert run(roster).primary == ["W-a2"]
    assert run(roster, at=later(12 * 3600)).primary == ["W-a3"]


def test_the_nearest_worker_by_fresh_fix_wins() -> None:
    roster = on_shift("W-a2", "W-a2b")
    assert run(roster, fixes={"W-a2": fix(800), "W-a2b": fix(-100)}).primary == ["W-a2b"]
    assert run(roster, fixes={"W-a2": fix(-100), "W-a2b": fix(800)}).primary == ["W-a2"]


def test_stale_or_inaccurate_fixes_are_ignored() -> None:
    roster = on_shift("W-a2", "W-a2b")
    stale = {"W-a2": fix(800), "W-a2b": fix(-100, age_s=CFG.fix_max_age_s + 1)}
    assert run(roster, fixes=stale).primary == ["W-a2"]
    vague = {"W-a2": fix(800), "W-a2b": fix(-100, accuracy_m=CFG.fix_max_accuracy_m + 1)}
    assert run(roster, fixes=vague).primary == ["W-a2"]
    just_fresh = {"W-a2": fix(800), "W-a2b": fix(-100, age_s=CFG.fix_max_age_s)}
    assert run(roster, fixes=just_fresh).primary == ["W-a2b"]


def test_distance_ranks_before_load_and_load_before_id() -> None:
    roster = on_shift("W-a2", "W-a2b")
    near_but_busier = run(roster, fixes={"W-a2b": fix(50)}, loads={"W-a2b": 2})
    assert near_but_busier.primary == ["W-a2b"]
    assert run(roster, loads={"W-a2": 2, "W-a2b": 1}).primary == ["W-a2b"]
    assert run(roster, loads={"W-a2": 1, "W-a2b": 1}).primary == ["W-a2"]


def test_an_overloaded_worker_is_passed_over_for_a_neighbour() -> None:
    got = run(on_shift("W-a2", "W-a3"), loads={"W-a2": CFG.max_load})
    assert (got.primary, got.rule) == (["W-a3"], "neighbour_worker")
    assert "cell a3" in got.reason


def test_neighbouring_cells_are_tried_nearest_first_within_reach() -> None:
    assert run(on_shift("W-a1", "W-a3")).primary == ["W-a3"]
    got = run(on_shift("W-a1"))
    assert (got.primary, got.rule) == (["W-a1"], "neighbour_worker")
    # b1 is far beyond reach: its worker is not a neighbour, the county is next.
    got = run(on_shift("W-b1", "O-1"))
    assert (got.primary, got.rule) == (["O-1"], "county")


def test_without_a_worker_the_village_takes_it_supervisors_first() -> None:
    got = run(on_shift("S-V1", "M-V1", "M-V2", "S-T1"))
    assert (got.primary, got.rule) == (["S-V1", "M-V1"], "village")


def test_then_the_township_then_the_county_without_the_admin() -> None:
    got = run(on_shift("M-T1", "S-T1", "S-C", "O-1", "M-V2"))
    assert (got.primary, got.rule) == (["S-T1", "M-T1"], "township")
    got = run(on_shift("S-C", "O-1", "A-1", "W-b1"))
    assert (got.primary, got.rule) == (["S-C", "O-1"], "county")


def test_an_overloaded_worker_takes_it_only_when_nobody_else_is_on_duty() -> None:
    busy = {"W-a2": CFG.max_load, "W-a3": CFG.max_load + 2}
    got = run(on_shift("W-a2", "W-a3"), loads=busy)
    assert (got.primary, got.rule) == (["W-a2"], "overloaded_worker")
    assert run(on_shift("W-a2", "W-a3", "S-T1"), loads=busy).rule == "township"


def test_with_nobody_on_duty_the_county_operators_get_it_anyway() -> None:
    got = run(on_shift("W-b1", "M-V2"))
    assert (got.primary, got.rule) == (["O-1", "O-2"], "operators")
    nobody = run(Roster(), people=[p for p in PEOPLE if p.role != "operator"])
    assert (nobody.primary, nobody.rule) == ([], "nobody")


def test_a_dispute_goes_to_the_worker_and_the_village_mediator() -> None:
    got = run(on_shift("W-a2", "M-V1", "M-V2", "S-V1", "M-T1"), kind="dispute")
    assert (got.primary, got.rule) == (["W-a2", "M-V1"], "dispute")
    assert "village V1" in got.reason


def test_a_dispute_without_a_village_mediator_takes_the_township_mediator() -> None:
    got = run(on_shift("W-a2", "M-V2", "M-T1"), kind="dispute")
    assert (got.primary, got.rule) == (["W-a2", "M-T1"], "dispute")


def test_a_dispute_goes_to_whichever_of_the_two_is_on_duty() -> None:
    assert run(on_shift("M-V1", "S-T1"), kind="dispute").primary == ["M-V1"]
    got = run(on_shift("W-a3", "S-T1"), kind="dispute")
    assert (got.primary, got.rule) == (["W-a3"], "dispute")
    assert "no mediator on duty" in got.reason


def test_a_dispute_with_neither_escalates_like_a_hazard() -> None:
    got = run(on_shift("S-V1", "S-T1"), kind="dispute")
    assert (got.primary, got.rule) == (["S-V1"], "village")
    assert got.reason.startswith("no free worker or mediator on duty for the dispute")


def test_an_unknown_cell_id_is_placed_by_location_and_outside_the_grid_goes_to_the_county() -> None:
    roster = on_shift("W-a2", "S-T1", "O-1")
    assert run(roster, cell_id="gone").primary == ["W-a2"]
    got = run(roster, cell_id="gone", where=(115.0, 36.5))
    assert (got.primary, got.rule) == (["O-1"], "county")


def test_the_same_inputs_in_any_order_give_the_same_assignment() -> None:
    roster = on_shift("W-a1", "W-a2", "W-a2b", "W-a3", "M-V1", "S-V1", "M-T1")
    fixes = {"W-a1": fix(-900), "W-a3": fix(600)}
    expected = run(roster, kind="dispute", fixes=fixes)
    shuffler = random.Random(7)
    for _ in range(20):
        people = shuffler.sample(PEOPLE, len(PEOPLE))
        shifts = Roster(shifts=tuple(shuffler.sample(roster.shifts, len(roster.shifts))))
        assert run(shifts, kind="dispute", fixes=fixes, people=people) == expected
