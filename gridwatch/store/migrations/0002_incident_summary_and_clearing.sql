-- What the detector said most recently, and when the condition behind an incident ended
-- (air clean again, a silent device heard again).

ALTER TABLE incidents
    ADD COLUMN summary    text NOT NULL DEFAULT '',
    ADD COLUMN cleared_at timestamptz;
