"""The detector stages in process, their state kept as live models or, as faust keeps it, JSON."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from gridwatch.detection_settings import DetectSettings
from gridwatch.devices import DeviceAdjusted
from gridwatch.grid.model import Grid
from gridwatch.records import RoutedEvent
from streams.app import TableDevices
from streams.cells import CellOutput, CellState, step_cell
from streams.contexts import CellContexts
from streams.county import CountyInput, step_county
from streams.fusion import FusionState
from streams.health import HealthState

M = TypeVar("M", bound=BaseModel)
Table = dict[str, dict[str, Any]]


def read(table: Table, key: str, model: type[M]) -> M:
    """Validate a stored value into its model, as every read of a faust table value does."""
    stored = table.get(key)
    return model.model_validate(stored) if stored else model()


def write(table: Table, key: str, before: BaseModel, after: BaseModel) -> None:
    """Dump a changed state to JSON-ready data, as every write of a faust table value does."""
    if after is not before:
        table[key] = after.model_dump(mode="json")


class CellsInMemory:
    """Stage one alone, each cell's state a live CellState."""

    def __init__(self, cfg: DetectSettings) -> None:
        self._cfg = cfg
        self._contexts = CellContexts(cfg)
        self.cells: dict[str, CellState] = {}

    def feed(self, record: RoutedEvent) -> list[CellOutput]:
        """One event through its cell's detectors."""
        cell = record.cell_id
        state = self.cells.get(cell) or CellState()
        self.cells[cell], outputs = step_cell(state, record, self._contexts.of(cell), self._cfg)
        return outputs


class CellsAsJson:
    """Stage one alone, each cell's state validated before and dumped after every change."""

    def __init__(self, cfg: DetectSettings) -> None:
        self._cfg = cfg
        self._contexts = CellContexts(cfg)
        self.cells: Table = {}

    def feed(self, record: RoutedEvent) -> list[CellOutput]:
        """One event through its cell's detectors, the cell's state read and written as JSON."""
        cell = record.cell_id
        state = read(self.cells, cell, CellState)
        after, outputs = step_cell(state, record, self._contexts.of(cell), self._cfg)
        write(self.cells, cell, state, after)
        return outputs


class PipelineAsJson:
    """Both stages, every state (cell, county fusion and clock, device) kept as JSON."""

    def __init__(self, cfg: DetectSettings, grid: Grid) -> None:
        self._cfg = cfg
        self._county = grid.county
        self.stage_one = CellsAsJson(cfg)
        self.counties: Table = {}
        self.clocks: Table = {}
        self.devices: Table = {}

    def feed(self, record: RoutedEvent) -> None:
        """One event through stage one, and its outputs but adjustments through stage two."""
        for output in self.stage_one.feed(record):
            if not isinstance(output, DeviceAdjusted):
                self._county_step(output)

    def _county_step(self, item: CountyInput) -> None:
        key = self._county
        fusion = read(self.counties, key, FusionState)
        health = read(self.clocks, key, HealthState)
        book = TableDevices(self.devices, key)
        step = step_county(fusion, health, book, item, self._cfg)
        write(self.counties, key, fusion, step.fusion)
        write(self.clocks, key, health, step.health)
        book.apply(step.devices)
