-- The stored closed loop: each incident's steps, the people on it, and its SLA clocks.
-- incidents.status stays the one source of truth of status; the steps are its history.

-- The highest level of the hierarchy drawn in (grid, village, township, county).
ALTER TABLE incidents
    ADD COLUMN level text NOT NULL DEFAULT 'grid'
        CHECK (level IN ('grid', 'village', 'township', 'county'));

-- One row per step, numbered from 1 in the order applied (not always the order of `at`).
CREATE TABLE incident_steps (
    incident_id  text NOT NULL REFERENCES incidents (incident_id) ON DELETE CASCADE,
    seq          integer NOT NULL CHECK (seq >= 1),
    action       text NOT NULL,
    from_status  text NOT NULL,
    status_after text NOT NULL,
    level        text NOT NULL,
    actor_id     text NOT NULL,
    actor_role   text NOT NULL,
    at           timestamptz NOT NULL,
    reason       text NOT NULL DEFAULT '',
    note         text NOT NULL DEFAULT '',
    photo        text,
    lat          double precision,
    lon          double precision,
    accuracy_m   double precision,
    -- The rest of the step: whom it named (assignees) and whether a cancel was a false alarm.
    detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (incident_id, seq)
);

-- Who may do an incident's field work (active), and who once could (inactive).
CREATE TABLE incident_assignees (
    incident_id text NOT NULL REFERENCES incidents (incident_id) ON DELETE CASCADE,
    assignee_id text NOT NULL,
    level       text NOT NULL,
    assigned_at timestamptz NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    PRIMARY KEY (incident_id, assignee_id)
);

-- "My queue": the incidents a person holds.
CREATE INDEX incident_assignees_active ON incident_assignees (assignee_id) WHERE active;

-- SLA clocks: each step closes the open one (done_at) and opens the next, if any.
CREATE TABLE incident_deadlines (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id      text NOT NULL REFERENCES incidents (incident_id) ON DELETE CASCADE,
    clock            text NOT NULL CHECK (clock IN ('accept', 'arrive', 'resolve')),
    level            text NOT NULL,
    started_at       timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,
    last_reminded_at timestamptz,
    done_at          timestamptz
);

-- One clock runs at a time per incident.
CREATE UNIQUE INDEX incident_deadlines_open ON incident_deadlines (incident_id)
    WHERE done_at IS NULL;
-- The escalation dispatcher claims due rows with FOR UPDATE SKIP LOCKED, earliest first.
CREATE INDEX incident_deadlines_due ON incident_deadlines (due_at) WHERE done_at IS NULL;
