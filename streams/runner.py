"""The embedded runner: both stages in one process, the same pure steps faust's agents call."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from gridwatch.detection_settings import DetectSettings
from gridwatch.devices import DeviceAdjusted, DeviceStatus, Tick
from gridwatch.grid.model import Grid
from gridwatch.wire import CellRecord
from streams.cells import CellState, step_cell
from streams.contexts import CellContexts
from streams.county import CountyInput, step_county
from streams.fusion import FusionState, IncidentRecord
from streams.health import DeviceHealth, HealthState


class PipelineState(BaseModel):
    """Everything the pipeline remembers, as one value to keep on disk between runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cells: dict[str, CellState]
    fusion: FusionState
    health: HealthState
    devices: dict[str, DeviceHealth]


class Pipeline:
    """Cell detectors then the county's health tracking and fusion, with state in memory."""

    def __init__(self, cfg: DetectSettings, grid: Grid) -> None:
        self._cfg = cfg
        self._contexts = CellContexts(cfg)
        self.county = grid.county
        self.cells: dict[str, CellState] = {}
        self.fusion = FusionState()
        self.health = HealthState()
        self.devices: dict[str, DeviceHealth] = {}
        self.adjusted: list[DeviceAdjusted] = []

    @property
    def state(self) -> PipelineState:
        """What it remembers now."""
        return PipelineState(
            cells=dict(self.cells),
            fusion=self.fusion,
            health=self.health,
            devices=dict(self.devices),
        )

    def restore(self, state: PipelineState) -> None:
        """Take up from a kept state (a restart)."""
        self.cells = dict(state.cells)
        self.fusion, self.health = state.fusion, state.health
        self.devices = dict(state.devices)

    def _county_step(self, item: CountyInput) -> list[IncidentRecord]:
        step = step_county(self.fusion, self.health, self.devices, item, self._cfg)
        self.fusion, self.health = step.fusion, step.health
        for device_id, device in step.devices.items():
            if device is None:
                del self.devices[device_id]
            else:
                self.devices[device_id] = device
        return step.incidents

    def feed(self, record: CellRecord | DeviceStatus) -> list[IncidentRecord]:
        """Process one record of the events or feedback stream, or a device's own status.

        Returns the incident records; device adjustments collect in `adjusted`.
        """
        if isinstance(record, DeviceStatus):
            return self._county_step(record)
        state = self.cells.get(record.cell_id, CellState())
        state, outputs = step_cell(state, record, self._contexts.of(record.cell_id), self._cfg)
        self.cells[record.cell_id] = state
        incidents: list[IncidentRecord] = []
        for output in outputs:
            if isinstance(output, DeviceAdjusted):
                self.adjusted.append(output)
            else:
                incidents.extend(self._county_step(output))
        return incidents

    def tick(self, now: datetime) -> list[IncidentRecord]:
        """Let the health tracker judge silence at `now` (the caller reads the clock)."""
        # Call it every `health.tick_s`: ticks further apart mean the tracker was not running,
        # and give every device a full limit again.
        return self._county_step(Tick(now=now))
