"""Per-cell detector context from configuration, and the county a grid belongs to."""

from __future__ import annotations

from gridwatch.grid.model import Grid
from gridwatch.settings import DetectSettings
from streams.detectors.context import CellContext

DEFAULT_COUNTY = "county"


def county_of(grid: Grid) -> str:
    """The key fusion state is kept under: the grid's administrative code (410523 ...)."""
    return str(grid.meta.get("adcode") or DEFAULT_COUNTY)


class CellContexts:
    """Builds each cell's context once and hands out the same object afterwards."""

    def __init__(self, cfg: DetectSettings) -> None:
        self._cfg = cfg
        self._zones = frozenset(cfg.person.watched_zones)
        self._cache: dict[str, CellContext] = {}

    def of(self, cell_id: str) -> CellContext:
        """The context of one cell."""
        ctx = self._cache.get(cell_id)
        if ctx is None:
            crowd = self._cfg.crowd
            ctx = CellContext(
                cell_id=cell_id,
                capacity=crowd.capacities.get(cell_id, crowd.default_capacity),
                watched_zones=self._zones,
            )
            self._cache[cell_id] = ctx
        return ctx
