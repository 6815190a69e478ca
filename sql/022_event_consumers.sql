-- The positions of the pools that react to domain events (common/consumer.c):
-- one row per consumer, moved in the same transaction as the effects of the
-- events it passes, so each event is applied once across crashes and
-- restarts. A consumer behind by more than MANDI_OUTBOX_KEEP_DAYS misses
-- the events deleted meanwhile.

CREATE TABLE event_consumers (
    name       text        PRIMARY KEY,         -- the pool
    position   bigint      NOT NULL,            -- the last outbox position passed
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Events a consumer's handlers failed on: counted while they are retried,
-- and kept (set aside, passed) after MANDI_EVENT_MAX_ATTEMPTS failures.
CREATE TABLE event_failures (
    consumer  text        NOT NULL,
    position  bigint      NOT NULL,
    topic     text        NOT NULL,
    error     text        NOT NULL,
    attempts  integer     NOT NULL DEFAULT 1,
    failed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, position)
);

-- The pools that react to events start from here: the events already
-- stored when they were deployed are not theirs (a week of old orders
-- must not be notified again). A pool added later makes its row in its
-- own migration the same way.
INSERT INTO event_consumers (name, position)
SELECT name, coalesce((SELECT max(position) FROM outbox), 0)
FROM (VALUES ('analytics'), ('notifications')) AS pools (name);
