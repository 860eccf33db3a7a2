"""The fire and smoke detector: fire at once; smoke by persistence or a second camera."""

from __future__ import annotations

from collections.abc import Iterable

from gridwatch.detection_settings import FireSettings
from gridwatch.findings import Finding
from gridwatch.incidents import Severity
from gridwatch.records import RoutedEvent
from streams.detectors.context import CellContext
from streams.detectors.fire import FireState, step
from tests.detectors import recorded, routed
from tests.support import T0, later

CFG = FireSettings()
CTX = CellContext(cell_id="west")


def run(
    events: Iterable[RoutedEvent], ctx: CellContext = CTX, state: FireState | None = None
) -> tuple[FireState, list[Finding]]:
    state = state or FireState()
    out: list[Finding] = []
    for e in events:
        state, found = step(state, e, ctx, CFG)
        out.extend(found)
    return state, out


def smoke(i: int, device: str = "cam-0042", at: float | None = None) -> RoutedEvent:
    return routed(
        "blue-sky.smoke",
        device=device,
        event_id=f"{device}-s{i}",
        at=later(i * 30 if at is None else at),
    )


def test_fire_raises_a_critical_finding_at_once() -> None:
    _, out = run([routed("blue-sky.fire")])
    assert len(out) == 1
    found = out[0]
    assert (found.cell_id, found.category, found.kind, found.action) == (
        "west",
        "fire",
        "hazard",
        "raise",
    )
    assert found.severity == Severity.CRITICAL
    assert found.opening_key == "cam-0042/cam-0042-000187"
    assert found.source_key == "cam-0042"
    assert [e.event_id for e in found.evidence] == ["cam-0042-000187"]


def test_low_confidence_fire_is_ignored() -> None:
    state, out = run([routed("blue-sky.fire", confidence=0.2)])
    assert (state, out) == (FireState(), [])


def test_smoke_persisting_on_one_camera_is_confirmed() -> None:
    state, out = run([smoke(0), smoke(1)])
    assert out == []
    _, out = run([smoke(2)], state=state)
    assert len(out) == 1
    assert [e.event_id for e in out[0].evidence] == ["cam-0042-s0", "cam-0042-s1", "cam-0042-s2"]
    assert out[0].severity == Severity.HIGH
    assert "3 times" in out[0].note


def test_a_second_camera_confirms_smoke_at_once() -> None:
    _, out = run([smoke(0), smoke(1, device="cam-0099")])
    assert len(out) == 1
    assert {e.device_id for e in out[0].evidence} == {"cam-0042", "cam-0099"}
    assert "2 cameras" in out[0].note


def test_smoke_spread_beyond_the_window_is_not_confirmed() -> None:
    gap = CFG.smoke_window_s + 1
    _, out = run([smoke(i, at=i * gap) for i in range(4)])
    assert out == []


def test_confirmed_smoke_passes_further_sightings_at_once() -> None:
    _, out = run([smoke(i) for i in range(5)])
    assert [len(f.evidence) for f in out] == [3, 1, 1]


def test_a_penalised_camera_needs_more_and_does_not_corroborate() -> None:
    ctx = CellContext(cell_id="west", extra_confirmations={"cam-0099": 2})
    _, out = run([smoke(0, device="cam-0099"), smoke(1)], ctx)
    assert out == []
    _, out = run([smoke(i, device="cam-0099") for i in range(5)], ctx)
    assert len(out) == 1
    assert len(out[0].evidence) == 5


def test_state_round_trips_through_json() -> None:
    state, _ = run([smoke(0), smoke(1)])
    assert FireState.model_validate(state.model_dump(mode="json")) == state
    assert state.pending[0].time == T0


def test_a_penalised_camera_must_be_surer_of_fire() -> None:
    ctx = CellContext(cell_id="west", extra_confirmations={"cam-0042": 3})
    assert run([routed("blue-sky.fire", confidence=0.7)], ctx)[1] == []
    assert len(run([routed("blue-sky.fire", confidence=0.85)], ctx)[1]) == 1


def test_recorded_straw_burning_smoke_then_flames() -> None:
    smoke = recorded("blue-sky.smoke", "straw-smoke-two-masts")
    _, found = run(smoke)
    # The 0.31 frame is dust-like and ignored; the second mast confirms the first at once.
    assert [f.category for f in found] == ["smoke", "smoke"]
    assert {e.device_id for e in found[0].evidence} == {"bs-mast-017", "bs-mast-022"}
    _, flames = run(recorded("blue-sky.fire", "straw-fire-flames"))
    assert [f.severity for f in flames] == [Severity.CRITICAL] * 3
