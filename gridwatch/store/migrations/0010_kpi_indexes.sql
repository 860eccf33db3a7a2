-- Indexes for the figures (docs/kpis.md): each reads one window of time out of all history.

-- Steps of one action in a window: accepts, resolves, closes, cancels, escalations.
CREATE INDEX incident_steps_action_at ON incident_steps (action, at);
-- Incidents detected in a window.
CREATE INDEX incidents_opened_at ON incidents (opened_at);
-- The resolve clock a resolve step stopped, and every clock due in a window (done or not).
CREATE INDEX incident_deadlines_incident ON incident_deadlines (incident_id, clock);
CREATE INDEX incident_deadlines_due_all ON incident_deadlines (due_at);
-- Incidents still open (few of all), by detection time.
CREATE INDEX incidents_open ON incidents (opened_at) WHERE status NOT IN ('closed', 'cancelled');
