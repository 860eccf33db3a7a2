"""Settings of every gridwatch process, read from `GRIDWATCH_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DATA = Path(__file__).parent / "data"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(_Section):
    """Where the MQTT broker is and how the bridge subscribes."""

    host: str = Field(
        "127.0.0.1", title="Broker host", description="MQTT broker host name or address."
    )
    port: int = Field(1883, title="Broker port", description="MQTT broker TCP port.")
    client_id: str = Field(
        "gridwatch-bridge-1",
        title="Bridge client id",
        description="Stable MQTT client id; the broker keeps this bridge's session (and its "
        "unacknowledged messages) under it, so each bridge process needs its own.",
    )
    share_group: str = Field(
        "gridwatch-bridge",
        title="Shared subscription group",
        description="MQTT 5 shared-subscription group; bridges in one group split the load.",
    )
    session_expiry_s: int = Field(
        7 * 24 * 3600,
        title="Session expiry",
        description="Seconds the broker keeps a disconnected bridge's session and queue.",
    )
    receive_maximum: int = Field(
        1000,
        title="In-flight window",
        description="Unacknowledged QoS 1 messages the broker may have in flight to one bridge.",
    )
    keepalive_s: int = Field(30, title="Keep-alive", description="MQTT keep-alive in seconds.")


class KafkaSettings(_Section):
    """Where Kafka is and how gridwatch's topics are named and sized."""

    host: str = Field("127.0.0.1", title="Broker host", description="Kafka bootstrap host.")
    port: int = Field(9092, title="Broker port", description="Kafka bootstrap port.")
    controller_port: int = Field(
        9093,
        title="Controller port",
        description="KRaft controller listener of the project's own broker (deploy/stack).",
    )
    bootstrap_servers: str | None = Field(
        None,
        title="Bootstrap servers",
        description="Comma-separated host:port list; overrides host and port when set.",
    )
    topic_prefix: str = Field(
        "gridwatch",
        title="Topic prefix",
        description="Prefix of every topic (gridwatch.events, ...); tests use their own.",
    )
    partitions: int = Field(
        6,
        title="Partitions",
        description="Partitions of the events and incidents topics (keyed by grid cell).",
    )
    replication_factor: int = Field(
        1, title="Replication factor", description="Replicas of each topic created on start."
    )
    events_retention_h: int = Field(
        7 * 24, title="Events retention", description="Hours Kafka keeps raw events."
    )
    incidents_retention_h: int = Field(
        30 * 24, title="Incidents retention", description="Hours Kafka keeps incident records."
    )
    deadletter_retention_h: int = Field(
        30 * 24, title="Dead-letter retention", description="Hours Kafka keeps rejected messages."
    )

    @property
    def bootstrap(self) -> str:
        """The bootstrap server list as a comma-separated string."""
        return self.bootstrap_servers or f"{self.host}:{self.port}"

    def topic(self, name: str) -> str:
        """The full name of one of gridwatch's topics (events, incidents, ...)."""
        return f"{self.topic_prefix}.{name}"


class PostgresSettings(_Section):
    """The PostgreSQL database holding incidents and the raw-event time series."""

    host: str = Field("127.0.0.1", title="Host", description="PostgreSQL host.")
    port: int = Field(
        55432, title="Port", description="PostgreSQL port (the project's own cluster)."
    )
    user: str = Field("gridwatch", title="User", description="Database role.")
    password: SecretStr = Field(SecretStr(""), title="Password", description="Role password.")
    database: str = Field("gridwatch", title="Database", description="Database name.")

    def conninfo(self, database: str | None = None) -> str:
        """A libpq connection string (the password is passed only when set)."""
        parts = [
            f"host={self.host}",
            f"port={self.port}",
            f"user={self.user}",
            f"dbname={database or self.database}",
        ]
        if self.password.get_secret_value():
            parts.append(f"password={self.password.get_secret_value()}")
        return " ".join(parts)


class ApiSettings(_Section):
    """The HTTP API."""

    host: str = Field("127.0.0.1", title="Listen host", description="Address uvicorn binds.")
    port: int = Field(8000, title="Listen port", description="Port uvicorn binds.")


class GridSettings(_Section):
    """The grid of cells that events and incidents are placed in."""

    path: Path = Field(
        PACKAGE_DATA / "tangyin" / "grid.geojson",
        title="Grid file",
        description="GeoJSON FeatureCollection of grid cells (WGS-84) with township and village.",
    )


class FireSettings(_Section):
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


class AirSettings(_Section):
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


class CrowdSettings(_Section):
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


class PersonSettings(_Section):
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


class FusionSettings(_Section):
    """How findings become incidents: grouping in space and time, severity, cool-down."""

    group_window_s: int = Field(
        4 * 3600,
        title="Grouping window",
        description="Seconds after its last evidence during which an incident nobody has "
        "closed still takes new findings of its category nearby; later ones open a new one.",
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
        description="Seconds after an incident closes during which the same category in the "
        "same cell does not reopen it.",
    )


class HealthSettings(_Section):
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


class FeedbackSettings(_Section):
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


class DetectSettings(_Section):
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


class StackSettings(_Section):
    """Knobs of the project's scripts (deploy/stack, deploy/setup); processes ignore them."""

    timeout_s: int | None = Field(
        None,
        title="Readiness timeout",
        description="Seconds deploy/stack waits for each service (default 30/120/60 s for "
        "Mosquitto/Kafka/PostgreSQL).",
    )
    python: Path | None = Field(
        None,
        title="Readiness Python",
        description="Python that runs deploy/stack's Kafka check (default .venv/bin/python).",
    )
    python_bin: str | None = Field(
        None,
        title="Setup Python",
        description="Python >= 3.11 that deploy/setup makes the virtualenv with (default python3).",
    )


class Settings(BaseSettings):
    """All settings; nested sections use `__`, e.g. GRIDWATCH_KAFKA__PORT=9092."""

    model_config = SettingsConfigDict(
        env_prefix="GRIDWATCH_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    mqtt: MqttSettings = Field(default_factory=MqttSettings, title="MQTT", description="Broker.")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings, title="Kafka", description="Log.")
    postgres: PostgresSettings = Field(
        default_factory=PostgresSettings, title="PostgreSQL", description="Store."
    )
    api: ApiSettings = Field(default_factory=ApiSettings, title="API", description="HTTP API.")
    grid: GridSettings = Field(default_factory=GridSettings, title="Grid", description="Cells.")
    detect: DetectSettings = Field(
        default_factory=DetectSettings, title="Detection", description="Detector parameters."
    )
    stack: StackSettings = Field(
        default_factory=StackSettings, title="Stack scripts", description="deploy/ scripts."
    )
    run_dir: Path = Field(
        Path(".run"), title="Run folder", description="Where processes keep local state and logs."
    )
