"""Who may see an incident: rules over an account, the incident's cell and the grid."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from api.errors import ApiError
from gridwatch.accounts import User
from gridwatch.grid.model import Grid
from gridwatch.incidents import IncidentKind
from gridwatch.store.cases import StoredCase


def check_may_see(user: User, grid: Grid, stored: StoredCase) -> None:
    """403 unless the caller may see (and so act on) the incident."""
    case = stored.case
    if not worker_can_see(user, case.cell_id, case.assignees, grid, kind=stored.kind):
        raise ApiError(
            403,
            "not_your_incident",
            f"incident {case.incident_id} is in cell {case.cell_id} and not assigned to you",
        )


def worker_can_see(
    user: User, incident_cell: str, assignees: Collection[str], grid: Grid, *, kind: IncidentKind
) -> bool:
    """Whether `user` may see an incident of `kind` in `incident_cell` assigned to `assignees`.

    Operators and admins see all; anyone sees what is assigned to them (by account or roster
    person id); a worker sees their own cell's; a mediator the disputes under their node; a
    supervisor everything under their node (village, township or the county).
    """
    if user.role in ("operator", "admin"):
        return True
    if user.id in assignees or (user.person_id is not None and user.person_id in assignees):
        return True
    cell = grid.get(incident_cell)
    if cell is None:
        return False
    if user.role == "worker":
        return user.node == cell.id
    under_node = user.node in (cell.village_id, cell.township_id, grid.county)
    if user.role == "mediator":
        return kind == "dispute" and under_node
    return under_node


@dataclass(frozen=True)
class ListScope:
    """Which incidents a list may show a caller: cells (None: every cell) and kind."""

    cells: frozenset[str] | None
    kind: IncidentKind | None = None


def list_scope(user: User, grid: Grid) -> ListScope:
    """The part of the county's incidents `user` may list (their own assignments aside)."""
    if user.role in ("operator", "admin") or user.node == grid.county:
        return ListScope(None, "dispute" if user.role == "mediator" else None)
    if user.role == "worker":
        return ListScope(frozenset({user.node}))
    under = frozenset(c.id for c in grid.cells if user.node in (c.id, c.village_id, c.township_id))
    return ListScope(under, "dispute" if user.role == "mediator" else None)


def requested_scope(user: User, grid: Grid, cell: str | None) -> ListScope:
    """The cells (and kind) a list shows: `cell` if given and in the caller's area, else all of it.

    404 for a cell the grid does not have, 403 for one outside the area.
    """
    if cell is not None and grid.get(cell) is None:
        raise ApiError(404, "unknown_cell", f"no grid cell has id {cell!r}")
    scope = list_scope(user, grid)
    if cell is None:
        return scope
    if scope.cells is not None and cell not in scope.cells:
        raise ApiError(403, "not_your_cell", f"cell {cell} is outside your area ({user.node})")
    return ListScope(frozenset({cell}), scope.kind)


def account_nodes(user: User, grid: Grid) -> frozenset[str] | None:
    """Nodes whose accounts a desk may name in a step: its subtree and the levels above it."""
    if user.role in ("operator", "admin") or user.node == grid.county:
        return None
    nodes = {grid.county}
    for c in grid.cells_under(user.node):
        nodes |= {c.id, c.village_id, c.township_id}
    return frozenset(nodes)
