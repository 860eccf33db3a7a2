-- Accounts, their refresh tokens, failed logins for throttling, and the audit log.

-- One row per account; people (the duty roster) and accounts are linked by person_id.
CREATE TABLE users (
    id            text PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    role          text NOT NULL
        CHECK (role IN ('worker', 'mediator', 'supervisor', 'operator', 'admin')),
    node          text NOT NULL,
    person_id     text,
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Each refresh is answered with a new token of the same family and revokes the old one;
-- presenting a revoked token again revokes the whole family (it was stolen or replayed).
CREATE TABLE refresh_tokens (
    jti        text PRIMARY KEY,
    family     text NOT NULL,
    user_id    text NOT NULL REFERENCES users (id),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family) WHERE revoked_at IS NULL;

-- Failed logins within the throttle window, by account name and by client address.
CREATE TABLE login_failures (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL,
    username text NOT NULL,
    client   text NOT NULL
);

CREATE INDEX login_failures_username ON login_failures (username, at);
CREATE INDEX login_failures_client ON login_failures (client, at);

-- Every state change and every read of a snapshot or photo: who, what, on what, from where.
CREATE TABLE audit_log (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'::jsonb,
    client text
);

CREATE INDEX audit_log_target ON audit_log (target, at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);
