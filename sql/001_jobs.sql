-- Jobs: every request that must survive a crash is recorded here before it is
-- dispatched (writes always; reads once the caller is answered 202). The row
-- is the durable promise behind a 202 and the source of GET /api/jobs/{id}.
CREATE TABLE jobs (
    id              uuid PRIMARY KEY,
    service         text        NOT NULL,
    type            text        NOT NULL,
    status          text        NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    max_attempts    integer     NOT NULL,
    durable         boolean     NOT NULL, -- false: a read recorded only when answered 202
    owner_id        text,                 -- the caller's user id; NULL for anonymous callers
    request_id      text        NOT NULL,
    idempotency_key text,
    request_hash    bytea,                -- SHA-256 of method, path and body, for Idempotency-Key
    envelope        bytea       NOT NULL, -- the msgpack job, re-sent by the recovery sweep
    progress        integer     NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    http_status     integer,
    result          bytea,                -- the msgpack reply envelope once finished
    worker          text,                 -- host:pid of the worker that last started it
    lease_until     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);

-- One job per (caller, key): a retried POST finds the first one.
CREATE UNIQUE INDEX jobs_idempotency ON jobs (coalesce(owner_id, ''), idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- The recovery sweep looks only at unfinished jobs whose lease ran out.
CREATE INDEX jobs_unfinished ON jobs (lease_until) WHERE status IN ('queued', 'running');

-- Effects of the test job types (loaded only in test mode): lets the tests
-- count how many times a job's work was committed.
CREATE TABLE test_effects (
    job_id     uuid        NOT NULL,
    worker     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX test_effects_job ON test_effects (job_id);
