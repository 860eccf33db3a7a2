-- The false-alarm loop: each device's latest adjustment, and how people ended incidents.

-- One row per device: the cell stage's latest decision (a record on gridwatch.adjustments).
-- Rows are never deleted: a lifted adjustment (extra_confirmations 0, until NULL) stays as
-- the device's history.
CREATE TABLE device_adjustments (
    device_id           text PRIMARY KEY,
    cell_id             text NOT NULL,
    extra_confirmations integer NOT NULL CHECK (extra_confirmations >= 0),
    until               timestamptz,
    false_alarms        integer NOT NULL CHECK (false_alarms >= 0),
    reason              text NOT NULL,
    at                  timestamptz NOT NULL
);

-- The operators' list: adjustments in force, most recent first.
CREATE INDEX device_adjustments_recent ON device_adjustments (at DESC)
    WHERE extra_confirmations > 0;

-- One row per incident a person closed or cancelled (a record on gridwatch.feedback).
CREATE TABLE incident_endings (
    incident_id text PRIMARY KEY,
    cell_id     text NOT NULL,
    category    text NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('closed', 'cancelled')),
    false_alarm boolean NOT NULL,
    reason      text NOT NULL,
    devices     text[] NOT NULL,
    ended_at    timestamptz NOT NULL
);

-- False alarms by device, for the per-device rate.
CREATE INDEX incident_endings_false_alarm_devices ON incident_endings USING gin (devices)
    WHERE false_alarm;

-- The incidents a device gave evidence to, for the same rate.
CREATE INDEX incident_evidence_device ON incident_evidence (device_id, time);
