"""Cells for tests whose events become incidents, each far from every other handed out."""

from __future__ import annotations

from gridwatch.geo import haversine_m
from gridwatch.grid.model import Cell, Grid

# Twice fusion's grouping distance (1 km), so one test's fire never joins another's incident.
APART_M = 2000.0
# Cells smaller than this are cut by the county border; a whole cell is clickable on the map.
WHOLE_KM2 = 0.5
# Tests that need no fusion-free cell name the grid file's first cells by index: keep off them.
NAMED = 16


class FarCells:
    """Hands out whole cells, each over APART_M from every cell handed out before.

    Every platform of a test run shares one database, one set of topics and one fusion state,
    so a fire published by one test joins any incident another test left open nearby.
    """

    def __init__(self, grid: Grid) -> None:
        self._free = [c for c in grid.cells if c.area_km2 >= WHOLE_KM2]
        self._taken: list[Cell] = list(grid.cells[:NAMED])

    def take(self, count: int = 1) -> list[Cell]:
        """`count` cells no test has had, far from each other and from all handed out."""
        chosen: list[Cell] = []
        for cell in self._free:
            if all(haversine_m(*cell.centroid, *c.centroid) > APART_M for c in self._taken):
                self._taken.append(cell)
                chosen.append(cell)
                if len(chosen) == count:
                    return chosen
        raise AssertionError(f"the grid has no {count} more cells {APART_M:.0f} m from the rest")

    def one(self) -> Cell:
        """One cell no test has had."""
        return self.take(1)[0]
