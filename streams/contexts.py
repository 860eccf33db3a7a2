"""Per-cell detector context from configuration."""

from __future__ import annotations

from gridwatch.detection_settings import DetectSettings
from streams.detectors.context import CellContext


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
