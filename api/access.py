"""Who may see an incident: pure rules over an account, the incident's cell and the grid."""

from __future__ import annotations

from collections.abc import Collection

from gridwatch.accounts import User
from gridwatch.grid.model import Grid
from gridwatch.incidents import IncidentKind


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
