-- Notifications as the dispatcher decided them (stored once, by id) and what became of each
-- on each channel. `seq` is the phone's catch-up cursor: strictly increasing in store order.
CREATE TABLE notifications (
    notification_id text PRIMARY KEY,
    recipient       text NOT NULL,
    incident_id     text NOT NULL,
    kind            text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    seq             bigserial NOT NULL UNIQUE
);

CREATE INDEX notifications_recipient_seq ON notifications (recipient, seq);

-- One row per notification and channel, moved forward in place (sent -> delivered -> acked,
-- or failed); `detail` says why, e.g. the gateway's status. No foreign key: a live push may
-- reach a phone before the queue writer has stored the notification itself.
CREATE TABLE deliveries (
    notification_id text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('websocket', 'webhook', 'webpush', 'app')),
    state           text NOT NULL CHECK (state IN ('sent', 'delivered', 'failed', 'acked')),
    at              timestamptz NOT NULL DEFAULT now(),
    detail          text NOT NULL DEFAULT '',
    PRIMARY KEY (notification_id, channel)
);

-- Browsers' Web Push subscriptions (RFC 8030): the push service's endpoint and the keys the
-- payload is encrypted for; dropped when the push service answers 404 or 410.
CREATE TABLE push_subscriptions (
    endpoint   text PRIMARY KEY,
    account_id text NOT NULL,
    p256dh     text NOT NULL,
    auth       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX push_subscriptions_account ON push_subscriptions (account_id);
