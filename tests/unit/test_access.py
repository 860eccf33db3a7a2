"""Which incidents an account may see: own cell, assignment, node subtree, everything."""

from __future__ import annotations

import pytest

from api.access import account_nodes, list_scope, requested_scope, worker_can_see
from api.errors import ApiError
from gridwatch.accounts import User
from gridwatch.people import Role
from tests.unit.test_assignment import GRID

# a1, a2: village V1; a3: village V2; all township T1. b1: village V3 of township T2.


def user(role: Role, node: str, *, person_id: str | None = None) -> User:
    return User(
        id=f"u-{role}-{node}",
        username=node,
        display_name=node,
        role=role,
        node=node,
        person_id=person_id,
    )


def test_a_worker_sees_their_own_cell_only() -> None:
    worker = user("worker", "a1")
    assert worker_can_see(worker, "a1", (), GRID, kind="hazard")
    assert not worker_can_see(worker, "a2", (), GRID, kind="hazard")


def test_a_worker_sees_what_is_assigned_to_them_elsewhere() -> None:
    worker = user("worker", "a1", person_id="W-1")
    assert worker_can_see(worker, "b1", ("W-1",), GRID, kind="hazard")
    assert worker_can_see(worker, "b1", (worker.id,), GRID, kind="hazard")
    assert not worker_can_see(worker, "b1", ("W-2",), GRID, kind="hazard")


def test_a_mediator_sees_their_villages_disputes_only() -> None:
    mediator = user("mediator", "V1")
    assert worker_can_see(mediator, "a2", (), GRID, kind="dispute")
    assert not worker_can_see(mediator, "a2", (), GRID, kind="hazard")
    assert not worker_can_see(mediator, "a3", (), GRID, kind="dispute")


@pytest.mark.parametrize(
    ("node", "visible"),
    [("V1", {"a1", "a2"}), ("T1", {"a1", "a2", "a3"}), ("410523", {"a1", "a2", "a3", "b1"})],
)
def test_a_supervisor_sees_their_nodes_subtree(node: str, visible: set[str]) -> None:
    supervisor = user("supervisor", node)
    seen = {c.id for c in GRID.cells if worker_can_see(supervisor, c.id, (), GRID, kind="hazard")}
    assert seen == visible


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_operators_and_admins_see_everything(role: Role) -> None:
    for cell in GRID.cells:
        assert worker_can_see(user(role, "410523"), cell.id, (), GRID, kind="maintenance")


def test_an_unknown_cell_is_seen_only_by_those_who_see_all() -> None:
    assert not worker_can_see(user("supervisor", "410523"), "zz", (), GRID, kind="hazard")
    assert worker_can_see(user("operator", "410523"), "zz", (), GRID, kind="hazard")


@pytest.mark.parametrize(
    ("role", "node", "cells", "kind"),
    [
        ("worker", "a1", {"a1"}, None),
        ("mediator", "V1", {"a1", "a2"}, "dispute"),
        ("supervisor", "V1", {"a1", "a2"}, None),
        ("supervisor", "T1", {"a1", "a2", "a3"}, None),
        ("operator", "C", None, None),
    ],
)
def test_a_list_shows_the_callers_area(
    role: Role, node: str, cells: set[str] | None, kind: str | None
) -> None:
    scope = list_scope(user(role, node), GRID)
    assert (scope.cells, scope.kind) == (None if cells is None else frozenset(cells), kind)


def test_a_county_supervisor_lists_every_cell() -> None:
    assert list_scope(user("supervisor", GRID.county), GRID).cells is None


def test_a_desk_names_accounts_of_its_subtree_and_the_levels_above() -> None:
    assert account_nodes(user("supervisor", "V1"), GRID) == frozenset(
        {"a1", "a2", "V1", "T1", "410523"}
    )
    assert account_nodes(user("operator", "410523"), GRID) is None


def test_the_cells_under_a_node_are_its_subtree() -> None:
    ids = {node: {c.id for c in GRID.cells_under(node)} for node in ("a1", "V1", "T1", "410523")}
    assert ids == {
        "a1": {"a1"},
        "V1": {"a1", "a2"},
        "T1": {"a1", "a2", "a3"},
        "410523": {c.id for c in GRID.cells},
    }
    assert GRID.cells_under("nowhere") == ()


def test_a_list_of_one_cell_must_be_a_cell_of_the_callers_area() -> None:
    supervisor = user("supervisor", "V1")
    assert requested_scope(supervisor, GRID, "a2").cells == frozenset({"a2"})
    assert requested_scope(supervisor, GRID, None).cells == frozenset({"a1", "a2"})
    with pytest.raises(ApiError) as outside:
        requested_scope(supervisor, GRID, "b1")
    with pytest.raises(ApiError) as unknown:
        requested_scope(supervisor, GRID, "nowhere")
    assert (outside.value.status, unknown.value.status) == (403, 404)
