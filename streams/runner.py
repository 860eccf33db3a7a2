"""The embedded runner: both stages in one process, the same pure steps faust's agents call."""

from __future__ import annotations

from gridwatch.grid.model import Grid
from gridwatch.incidents import IncidentEnded
from gridwatch.settings import DetectSettings
from gridwatch.wire import CellRecord
from streams.cells import CellState, detect
from streams.contexts import CellContexts, county_of
from streams.fusion import FusionInput, FusionState, IncidentRecord, fuse


class Pipeline:
    """Cell detectors then county fusion, with their state held in memory."""

    def __init__(self, cfg: DetectSettings, grid: Grid) -> None:
        self._cfg = cfg
        self._contexts = CellContexts(cfg)
        self._county = county_of(grid)
        self.cells: dict[str, CellState] = {}
        self.counties: dict[str, FusionState] = {}

    def _fuse(self, item: FusionInput) -> list[IncidentRecord]:
        state = self.counties.get(self._county, FusionState())
        state, records = fuse(state, item, self._cfg.fusion)
        self.counties[self._county] = state
        return records

    def feed(self, record: CellRecord) -> list[IncidentRecord]:
        """Process one record of the events or feedback stream; return incident records."""
        if isinstance(record, IncidentEnded):
            return self._fuse(record)
        state = self.cells.get(record.cell_id, CellState())
        state, findings = detect(state, record, self._contexts.of(record.cell_id), self._cfg)
        self.cells[record.cell_id] = state
        return [out for finding in findings for out in self._fuse(finding)]
