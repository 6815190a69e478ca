-- The event outbox: a handler writes its domain events here inside its own
-- transaction, so an event exists if and only if the change it describes
-- committed. A relay then gives each event its position and publishes it on
-- the bus. Positions are handed out under one advisory lock and committed
-- in that order, so a reader that has seen position P will never later find
-- a new event below P: subscribers keep the last position they applied and
-- catch up with "position > last ORDER BY position". A position may be
-- missing for good (a relay that crashed after taking numbers); never
-- filled in later.

CREATE SEQUENCE outbox_position AS bigint;

CREATE TABLE outbox (
    id           bigserial   PRIMARY KEY,
    topic        text        NOT NULL CHECK (topic ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    body         bytea       NOT NULL,          -- msgpack, as on the bus
    job_id       text,                          -- the job whose handler wrote it
    position     bigint      UNIQUE,            -- NULL until the relay takes it
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_waiting ON outbox (id) WHERE position IS NULL;
CREATE INDEX outbox_topic ON outbox (topic, position);
