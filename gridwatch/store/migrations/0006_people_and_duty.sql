-- The duty roster: people at nodes of the grid hierarchy, their shifts, where their phones
-- last were, and the "on duty / off duty" a worker pressed on the phone.

-- Everyone ever imported; someone dropped from the roster is deactivated, never deleted,
-- so incidents and the audit log can still name them.
CREATE TABLE people (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    phone      text,
    role       text NOT NULL
        CHECK (role IN ('worker', 'mediator', 'supervisor', 'operator', 'admin')),
    level      text NOT NULL CHECK (level IN ('grid', 'village', 'township', 'county')),
    node       text NOT NULL,
    active     boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX people_node ON people (node, role) WHERE active;
CREATE INDEX people_role ON people (role) WHERE active;

-- Local (Asia/Shanghai) wall-clock duty on ISO weekdays or on dates, exactly one of them;
-- an end at or before the start runs into the next day.
CREATE TABLE shifts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id  text NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    weekdays   smallint[] NOT NULL DEFAULT '{}',
    dates      date[] NOT NULL DEFAULT '{}',
    start_time time NOT NULL,
    end_time   time NOT NULL,
    CHECK ((cardinality(weekdays) = 0) <> (cardinality(dates) = 0)),
    CHECK (weekdays <@ '{1,2,3,4,5,6,7}'::smallint[])
);

CREATE INDEX shifts_person ON shifts (person_id);

-- The latest WGS-84 fix of each person's phone; an older fix arriving late never wins.
CREATE TABLE person_fixes (
    person_id  text PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    lat        double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon        double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    accuracy_m double precision NOT NULL CHECK (accuracy_m >= 0),
    at         timestamptz NOT NULL
);

-- "On duty" / "off duty" pressed on the phone: overrides the roster until `until`
-- (for good while null).
CREATE TABLE duty_overrides (
    person_id  text PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    on_duty    boolean NOT NULL,
    until      timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
