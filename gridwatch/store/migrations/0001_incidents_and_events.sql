-- Incidents per grid cell, their evidence, and the raw-event time series.

CREATE TABLE incidents (
    incident_id      text PRIMARY KEY,
    cell_id          text NOT NULL,
    kind             text NOT NULL,
    category         text NOT NULL,
    severity         smallint NOT NULL CHECK (severity BETWEEN 1 AND 4),
    status           text NOT NULL DEFAULT 'new',
    detector         text NOT NULL,
    opened_at        timestamptz NOT NULL,
    last_evidence_at timestamptz NOT NULL,
    evidence_count   integer NOT NULL DEFAULT 0,
    lon              double precision NOT NULL,
    lat              double precision NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- A cell's queue: open incidents, most severe and newest first.
CREATE INDEX incidents_queue ON incidents (cell_id, status, severity DESC, opened_at DESC);

CREATE TABLE incident_evidence (
    incident_id text NOT NULL REFERENCES incidents (incident_id) ON DELETE CASCADE,
    device_id   text NOT NULL,
    event_id    text NOT NULL,
    type        text NOT NULL,
    time        timestamptz NOT NULL,
    confidence  real NOT NULL,
    lon         double precision NOT NULL,
    lat         double precision NOT NULL,
    snapshot    text,
    PRIMARY KEY (incident_id, device_id, event_id)
);

-- Raw events: a TimescaleDB hypertable when the extension is available, otherwise a table
-- range-partitioned by day (partitions are created ahead by the store; a DEFAULT partition
-- catches device clocks that are far off).
DO $$
DECLARE
    columns text := '
        time        timestamptz NOT NULL,
        device_id   text NOT NULL,
        event_id    text NOT NULL,
        type        text NOT NULL,
        cell_id     text NOT NULL,
        lon         double precision NOT NULL,
        lat         double precision NOT NULL,
        received_at timestamptz NOT NULL,
        data        jsonb NOT NULL,
        PRIMARY KEY (device_id, event_id, time)';
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXECUTE 'CREATE TABLE events (' || columns || ')';
        PERFORM create_hypertable('events', 'time', chunk_time_interval => interval '1 day');
    ELSE
        EXECUTE 'CREATE TABLE events (' || columns || ') PARTITION BY RANGE (time)';
        CREATE TABLE events_default PARTITION OF events DEFAULT;
    END IF;
END
$$;

CREATE INDEX events_cell_time ON events (cell_id, time DESC);
