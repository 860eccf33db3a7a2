"""Settings of the detectors and of fusion: the `detect` section of gridwatch's settings."""

from __future__ import annotations

from pydantic import Field

from gridwatch.sections import Section


class FireSettings(Section):
    """Fire at once; smoke confirmed by persistence or by a second device."""

    fire_min_confidence: float = Field(
        0.5, title="Fire confidence", description="Fire detections below this are ignored."
    )
    smoke_min_confidence: float = Field(
        0.5, title="Smoke confidence", description="Smoke detections below this are ignored."
    )
    smoke_confirmations: int = Field(
        3,
        title="Smoke persistence",
        description="Smoke detections by one device, within the window, that confirm smoke.",
    )
    smoke_devices: int = Field(
        2,
        title="Smoke corroboration",
        description="Distinct devices in one cell seeing smoke within the window that confirm it.",
    )
    smoke_window_s: int = Field(
        300, title="Smoke window", description="Seconds within which smoke detections count."
    )


class AirSettings(Section):
    """Air quality: AQI (HJ 633, edition in force at the reading) per station, with hysteresis."""

    window_s: int = Field(
        3600, title="Averaging window", description="Seconds of readings averaged per station."
    )
    min_readings: int = Field(
        3, title="Minimum readings", description="Readings in the window before AQI is judged."
    )
    alert_aqi: int = Field(
        151, title="Alert level", description="AQI at or above which a station is polluted."
    )
    alert_after_s: int = Field(
        1800, title="Alert after", description="Seconds at or above the alert level to raise."
    )
    clear_aqi: int = Field(
        100, title="Clear level", description="AQI at or below which a station is clean again."
    )
    clear_after_s: int = Field(
        1800, title="Clear after", description="Seconds at or below the clear level to clear."
    )


class CrowdSettings(Section):
    """Crowds above a cell's capacity; crowds with raised noise are disputes."""

    default_capacity: int = Field(
        60, title="Default capacity", description="People a cell's public places hold."
    )
    capacities: dict[str, int] = Field(
        default_factory=dict,
        title="Capacity per cell",
        description="Cell id to capacity, for squares, markets and schools that hold more.",
    )
    sustain_s: int = Field(
        120, title="Sustained for", description="Seconds above capacity before it is a hazard."
    )
    max_gap_s: int = Field(
        300,
        title="Longest gap",
        description="Seconds of silence from a camera after which its sustained stretches "
        "start again rather than continue.",
    )
    noise_db: float = Field(
        80.0, title="Raised noise", description="dB(A) at which a crowd counts as a dispute."
    )
    gathering_min_count: int = Field(
        8, title="Gathering size", description="People in a noisy crowd that make a dispute."
    )
    min_confidence: float = Field(
        0.5, title="Crowd confidence", description="Counts below this confidence are ignored."
    )


class PersonSettings(Section):
    """Falls, fights and intrusions: immediate."""

    fall_min_confidence: float = Field(
        0.6, title="Fall confidence", description="Fall detections below this are ignored."
    )
    fight_min_confidence: float = Field(
        0.6, title="Fight confidence", description="Fight detections below this are ignored."
    )
    intrusion_min_confidence: float = Field(
        0.5, title="Intrusion confidence", description="Intrusions below this are ignored."
    )
    watched_zones: list[str] = Field(
        default_factory=lambda: ["riverbank", "reservoir", "pond", "canal"],
        title="Watched zones",
        description="Zone names where a person is in danger (drowning risk).",
    )


class FusionSettings(Section):
    """How findings become incidents: grouping in space and time, severity, cool-down."""

    group_window_s: int = Field(
        4 * 3600,
        title="Grouping window",
        description="Seconds after its last evidence during which an incident nobody has "
        "closed still takes new findings of its family (smoke joins fire) nearby; later ones "
        "open a new one. Air, crowd, gathering and no-signal incidents outlive it while a "
        "device still raises them.",
    )
    group_distance_m: float = Field(
        1000.0,
        title="Grouping distance",
        description="Metres from an open incident within which findings in neighbouring "
        "cells attach to it.",
    )
    evidence_per_severity: int = Field(
        3,
        title="Evidence per severity step",
        description="Further evidence from other devices that raises severity by one step.",
    )
    cooldown_s: int = Field(
        600,
        title="Cool-down",
        description="Seconds after an incident closes during which detections of its family "
        "in the same cell do not reopen it (people's reports and rules that raise once per "
        "episode are never held back).",
    )


class HealthSettings(Section):
    """No-signal: a device silent for longer than it should be."""

    sharp_eyes_interval_s: int = Field(
        120,
        title="Sharp Eyes interval",
        description="Seconds between a Sharp Eyes camera's heartbeats or events, at most.",
    )
    blue_sky_interval_s: int = Field(
        600,
        title="Blue Sky interval",
        description="Seconds between a Blue Sky camera's or station's messages, at most.",
    )
    missed_intervals: float = Field(
        3.0,
        title="Missed intervals",
        description="Intervals a device may miss before it counts as silent.",
    )
    seen_every_s: int = Field(
        60,
        title="Liveness report",
        description="Seconds between the cell stage's reports that a device is sending.",
    )
    tick_s: int = Field(30, title="Tick", description="Seconds between checks for silent devices.")


class FeedbackSettings(Section):
    """The false-alarm loop: devices behind cancelled incidents need more confirmation."""

    extra_per_false_alarm: int = Field(
        1,
        title="Extra per false alarm",
        description="Confirmations added to a device's detections per false alarm.",
    )
    max_extra: int = Field(
        3, title="Most extra", description="Cap on the extra confirmations of one device."
    )
    penalty_s: int = Field(
        7 * 24 * 3600,
        title="Adjustment lasts",
        description="Seconds an adjustment lasts after the latest false alarm.",
    )


class DetectSettings(Section):
    """Parameters of every detector and of fusion."""

    fire: FireSettings = Field(default_factory=FireSettings, title="Fire", description="Fire.")
    air: AirSettings = Field(default_factory=AirSettings, title="Air", description="Air.")
    crowd: CrowdSettings = Field(
        default_factory=CrowdSettings, title="Crowd", description="Crowds."
    )
    person: PersonSettings = Field(
        default_factory=PersonSettings, title="Person", description="Falls, fights, zones."
    )
    fusion: FusionSettings = Field(
        default_factory=FusionSettings, title="Fusion", description="Grouping."
    )
    health: HealthSettings = Field(
        default_factory=HealthSettings, title="Health", description="No-signal."
    )
    feedback: FeedbackSettings = Field(
        default_factory=FeedbackSettings, title="Feedback", description="False alarms."
    )
