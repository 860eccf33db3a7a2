"""The assignment policy: who an incident goes to, by duty, place and load, and which rule chose."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gridwatch.assignment_settings import AssignmentSettings
from gridwatch.geo.crs import haversine_m
from gridwatch.grid.model import Cell, Grid
from gridwatch.incidents import IncidentCategory, IncidentKind, Severity
from gridwatch.people import LastFix, Level, Load, Person, Roster, on_duty

Rule = Literal[
    "cell_worker",
    "neighbour_worker",
    "village",
    "township",
    "county",
    "overloaded_worker",
    "dispute",
    "operators",
    "nobody",
]
Upper = Literal["village", "township", "county"]
# Who answers for an incident at each level above the grid; admins run the system, not cases.
RESPONDERS: dict[Upper, frozenset[str]] = {
    "village": frozenset({"supervisor", "mediator"}),
    "township": frozenset({"supervisor", "mediator"}),
    "county": frozenset({"supervisor", "mediator", "operator"}),
}
# Order of several people chosen together: the one who decides first.
_ROLE_ORDER = {"supervisor": 0, "mediator": 1, "operator": 2, "worker": 3, "admin": 4}


class AssignmentRequest(BaseModel):
    """What the policy needs to know about an incident."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cell_id: str = Field(description="The incident's cell.")
    kind: IncidentKind = Field(description="hazard, dispute or maintenance.")
    category: IncidentCategory = Field(description="What was detected.")
    severity: Severity = Field(description="1 low ... 4 critical.")
    lon: float = Field(description="WGS-84 longitude of the incident.")
    lat: float = Field(description="WGS-84 latitude of the incident.")


class Assignment(BaseModel):
    """Who the incident goes to, the rule that chose them and why, in words for the timeline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    primary: list[str] = Field(description="Person ids, first the one expected to act.")
    rule: Rule = Field(description="The rule of the cascade that chose them.")
    reason: str = Field(description="Why them, for the incident's timeline.")


@dataclass(frozen=True)
class _Worker:
    """An on-duty worker near the incident, with what ranks them."""

    person: Person
    cell: Cell
    tier: int  # 0: the incident's cell, 1: a neighbouring cell
    cell_m: float  # from the incident to the worker's cell centroid (0 for its own cell)
    fix_m: float | None  # from the incident to a fresh, accurate fix; None without one
    load: int

    def rank(self) -> tuple[int, float, float, int, str]:
        """Own cell first, nearer cells, nearer by fix, less loaded, then id."""
        fix_m = math.inf if self.fix_m is None else self.fix_m
        return (self.tier, self.cell_m, fix_m, self.load, self.person.id)

    def describe(self) -> str:
        """The worker and what ranked them, for a reason."""
        where = "no usable fix" if self.fix_m is None else f"{self.fix_m:.0f} m away by fix"
        return f"{self.person.id} ({where}, {self.load} open)"


@dataclass(frozen=True)
class _Scene:
    """Everything the rules look at, for one incident at one moment."""

    incident: AssignmentRequest
    by_node: Mapping[tuple[str, str], list[Person]]
    roster: Roster
    fixes: Mapping[str, LastFix]
    loads: Mapping[str, Load]
    grid: Grid
    cfg: AssignmentSettings
    at: datetime

    def load(self, person: Person) -> int:
        """Open assignments of the person, 0 when unknown."""
        known = self.loads.get(person.id)
        return known.open_assignments if known else 0

    def fix_m(self, person: Person) -> float | None:
        """Metres from the incident to the person's fix, if fresh and accurate enough."""
        fix = self.fixes.get(person.id)
        if fix is None or fix.accuracy_m > self.cfg.fix_max_accuracy_m:
            return None
        if self.at - fix.at > timedelta(seconds=self.cfg.fix_max_age_s):
            return None
        return haversine_m(self.incident.lon, self.incident.lat, fix.lon, fix.lat)

    def on_duty(self, level: Level, node: str, roles: frozenset[str]) -> list[Person]:
        """People of a node in one of the roles and on shift, supervisors first, then by id."""
        people = [
            p
            for p in self.by_node.get((level, node), [])
            if p.role in roles and on_duty(p, self.roster, self.at)
        ]
        return sorted(people, key=lambda p: (_ROLE_ORDER[p.role], p.id))

    def workers(self, cell: Cell) -> list[_Worker]:
        """On-duty workers of the cell and of neighbouring cells, best first."""
        lon, lat = self.incident.lon, self.incident.lat
        cells = [(0, 0.0, cell)] + [
            (1, d, c)
            for c in self.grid.cells
            if c.id != cell.id
            and (d := haversine_m(lon, lat, *c.centroid)) <= self.cfg.neighbour_distance_m
        ]
        found = [
            _Worker(p, c, tier, d, self.fix_m(p), self.load(p))
            for tier, d, c in cells
            for p in self.on_duty("grid", c.id, frozenset({"worker"}))
        ]
        return sorted(found, key=_Worker.rank)


def _worker_reason(worker: _Worker, home: Cell) -> str:
    if worker.tier == 0:
        return f"on-duty worker of cell {home.id}: {worker.describe()}"
    return (
        f"no free worker on duty in cell {home.id}; neighbouring cell {worker.cell.id} "
        f"({worker.cell_m:.0f} m): {worker.describe()}"
    )


def _chosen(worker: _Worker, home: Cell) -> Assignment:
    rule: Rule = "cell_worker" if worker.tier == 0 else "neighbour_worker"
    return Assignment(primary=[worker.person.id], rule=rule, reason=_worker_reason(worker, home))


def _upper_nodes(scene: _Scene, cell: Cell | None) -> list[tuple[Upper, str]]:
    """The village, township and county above the cell (only the county without a cell)."""
    county: tuple[Upper, str] = ("county", scene.grid.county)
    if cell is None:
        return [county]
    return [("village", cell.village_id), ("township", cell.township_id), county]


def _escalated(scene: _Scene, cell: Cell | None, workers: list[_Worker], why: str) -> Assignment:
    """Village, township, county on duty; then an overloaded worker; then operators off duty."""
    for level, node in _upper_nodes(scene, cell):
        people = scene.on_duty(level, node, RESPONDERS[level])
        if people:
            reason = f"{why}; on duty at {level} {node}"
            return Assignment(primary=[p.id for p in people], rule=level, reason=reason)
    if workers:
        best = workers[0]
        reason = (
            f"nobody else on duty; worker at or over {scene.cfg.max_load} open "
            f"in cell {best.cell.id}: {best.describe()}"
        )
        return Assignment(primary=[best.person.id], rule="overloaded_worker", reason=reason)
    operators = sorted(
        p.id for p in scene.by_node.get(("county", scene.grid.county), []) if p.role == "operator"
    )
    if operators:
        reason = f"nobody on duty for this incident; county {scene.grid.county} operators"
        return Assignment(primary=operators, rule="operators", reason=reason)
    return Assignment(primary=[], rule="nobody", reason="nobody on duty and no county operator")


def _dispute(scene: _Scene, cell: Cell, free: list[_Worker]) -> Assignment | None:
    """The best free worker and the nearest level's on-duty mediators, or None if neither."""
    mediators: list[Person] = []
    where = ""
    for level, node in _upper_nodes(scene, cell):
        mediators = scene.on_duty(level, node, frozenset({"mediator"}))
        if mediators:
            where = f"mediator(s) of {level} {node}"
            break
    if not free and not mediators:
        return None
    worker = [free[0].person.id] if free else []
    said = _worker_reason(free[0], cell) if free else f"no free worker on duty near cell {cell.id}"
    reason = f"dispute: {said}; {where or 'no mediator on duty'}"
    return Assignment(primary=worker + [p.id for p in mediators], rule="dispute", reason=reason)


def assign(
    incident: AssignmentRequest,
    *,
    people: Iterable[Person],
    roster: Roster,
    fixes: Mapping[str, LastFix],
    loads: Mapping[str, Load],
    grid: Grid,
    cfg: AssignmentSettings,
    at: datetime,
) -> Assignment:
    """Choose who an incident goes to at `at`; the same inputs always give the same answer."""
    by_node: dict[tuple[str, str], list[Person]] = {}
    for person in people:
        by_node.setdefault((person.level, person.node), []).append(person)
    scene = _Scene(incident, by_node, roster, fixes, loads, grid, cfg, at)
    # An id the grid does not know (a grid replaced since) still has a place to go by.
    cell = grid.get(incident.cell_id) or grid.locate(incident.lon, incident.lat)
    workers = scene.workers(cell) if cell is not None else []
    free = [w for w in workers if w.load < cfg.max_load]
    if cell is not None and incident.kind == "dispute":
        both = _dispute(scene, cell, free)
        if both is not None:
            return both
    elif cell is not None and free:
        return _chosen(free[0], cell)
    why = "no free worker on duty nearby"
    if incident.kind == "dispute":
        why = "no free worker or mediator on duty for the dispute"
    return _escalated(scene, cell, workers, why)
