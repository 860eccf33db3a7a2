-- Records to produce to Kafka, written in the transaction of the change that decided them
-- (the dispatcher's dispatch, escalation or reminder) and deleted once Kafka acknowledged
-- them. A process that dies between its commit and Kafka's ack leaves them here; any
-- process draining the outbox (every dispatcher, every tick) sends them, claiming rows with
-- FOR UPDATE SKIP LOCKED so two never send the same row at once.
CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    topic      text NOT NULL,
    key        bytea NOT NULL,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
