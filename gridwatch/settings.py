"""Settings of every gridwatch process, read from `GRIDWATCH_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridwatch.assignment_settings import AssignmentSettings
from gridwatch.auth_settings import AuthSettings
from gridwatch.detection_settings import DetectSettings
from gridwatch.notify_settings import NotifySettings
from gridwatch.sections import Section
from gridwatch.sla_settings import SlaSettings

PACKAGE_DATA = Path(__file__).parent / "data"


class MqttSettings(Section):
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
    in_process: bool = Field(
        True,
        title="In-process broker",
        description="For `gridwatch run`: serve MQTT 3.1.1 from the in-process broker on "
        "host:port. false: bridge from the broker already at host:port (Mosquitto, MQTT 5), "
        "as the distributed mode does. Every other command connects to host:port.",
    )


class KafkaSettings(Section):
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


class PostgresSettings(Section):
    """The PostgreSQL database holding incidents and the raw-event time series."""

    host: str = Field("127.0.0.1", title="Host", description="PostgreSQL host.")
    port: int = Field(
        55432, title="Port", description="PostgreSQL port (the project's own cluster)."
    )
    user: str = Field("gridwatch", title="User", description="Database role.")
    password: SecretStr = Field(SecretStr(""), title="Password", description="Role password.")
    database: str = Field("gridwatch", title="Database", description="Database name.")
    bundled: bool | None = Field(
        None,
        title="Bundled server",
        description="Run the bundled PostgreSQL (the pgserver wheel) with its data in "
        "<run_dir>/pgdata instead of connecting to host:port. Unset: yes for `gridwatch run` "
        "(the embedded mode) unless another postgres setting names a server, no for every "
        "other command; set it to true for a command that must reach the embedded mode's "
        "store (`gridwatch users add`).",
    )

    def wants_bundled(self, command: str) -> bool:
        """Whether `command` runs on the bundled server (see `bundled`)."""
        if self.bundled is not None:
            return self.bundled
        return command == "run" and not self.model_fields_set

    def conninfo(self, database: str | None = None) -> str:
        """A libpq connection string (the password is passed only when set)."""
        parts = [
            f"host={self.host}",
            f"port={self.port}",
            f"user={self.user}",
            f"dbname={database or self.database}",
            # Times come back in UTC whatever the server's zone: Python adds an interval to an
            # aware time on its wall clock, which is off by an hour across a summer-time change.
            "options=-cTimeZone=UTC",
        ]
        if self.password.get_secret_value():
            parts.append(f"password={self.password.get_secret_value()}")
        return " ".join(parts)


class ApiSettings(Section):
    """The HTTP API."""

    host: str = Field("127.0.0.1", title="Listen host", description="Address uvicorn binds.")
    port: int = Field(8000, title="Listen port", description="Port uvicorn binds.")


class GridSettings(Section):
    """The grid of cells that events and incidents are placed in."""

    path: Path = Field(
        PACKAGE_DATA / "tangyin" / "grid.geojson",
        title="Grid file",
        description="GeoJSON FeatureCollection of grid cells (WGS-84) with township and village.",
    )


class StackSettings(Section):
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
    auth: AuthSettings = Field(
        default_factory=AuthSettings, title="Auth", description="Accounts and tokens."
    )
    assignment: AssignmentSettings = Field(
        default_factory=AssignmentSettings, title="Assignment", description="Who gets what."
    )
    sla: SlaSettings = Field(
        default_factory=SlaSettings, title="SLA", description="Deadlines of the closed loop."
    )
    notify: NotifySettings = Field(
        default_factory=NotifySettings, title="Notify", description="Notification channels."
    )
    stack: StackSettings = Field(
        default_factory=StackSettings, title="Stack scripts", description="deploy/ scripts."
    )
    run_dir: Path = Field(
        Path(".run"), title="Run folder", description="Where processes keep local state and logs."
    )
