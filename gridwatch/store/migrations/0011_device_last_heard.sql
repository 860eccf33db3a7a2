-- Each device's newest event by arrival, kept as events are stored. The console's device map
-- polls it every few seconds; finding it in the events themselves read a day of them per poll.
CREATE TABLE device_last_heard (
    device_id   text PRIMARY KEY,
    type        text NOT NULL,
    cell_id     text NOT NULL,
    lon         double precision NOT NULL,
    lat         double precision NOT NULL,
    time        timestamptz NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE INDEX device_last_heard_received ON device_last_heard (received_at);

-- The map lists devices heard within a day: two days of events fill it, without a scan of all
-- history while the migration holds its lock.
INSERT INTO device_last_heard (device_id, type, cell_id, lon, lat, time, received_at)
SELECT DISTINCT ON (device_id) device_id, type, cell_id, lon, lat, time, received_at
FROM events
WHERE received_at >= now() - interval '2 days' AND time >= now() - interval '9 days'
ORDER BY device_id, received_at DESC, time DESC;
