-- Periodic jobs. The scheduler (mandi-scheduler) enqueues each schedule's
-- job at the occurrences of its cron expression (India time). Every
-- occurrence is a row of schedule_runs under a unique key, written in the
-- same transaction as its job: two schedulers running at once fire each
-- occurrence exactly once. Occurrences missed while no scheduler ran are
-- not made up one by one: the latest of them fires once, then the next
-- after now.

CREATE TABLE schedules (
    name         text        PRIMARY KEY,
    cron         text        NOT NULL,           -- minute hour day month weekday, India time
    service      text        NOT NULL,           -- the pool
    job_type     text        NOT NULL,
    -- The job's body; "{{today}}" and "{{yesterday}}" in it become the
    -- occurrence's India date and the day before.
    body         jsonb       NOT NULL DEFAULT '{}',
    enabled      boolean     NOT NULL DEFAULT true,
    description  text        NOT NULL,
    next_run_at  timestamptz,                    -- NULL: the scheduler works it out
    last_run_at  timestamptz,
    last_job_id  uuid,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE schedule_runs (
    schedule   text        NOT NULL REFERENCES schedules (name),
    occurrence timestamptz NOT NULL,
    job_id     uuid        NOT NULL,
    scheduler  text        NOT NULL,             -- host:pid of the scheduler that fired it
    fired_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule, occurrence)
);

INSERT INTO schedules (name, cron, service, job_type, body, description) VALUES
    ('unpaid-orders', '*/5 * * * *', 'orders', 'order.expire_unpaid', '{}',
     'cancels razorpay orders left unpaid past MANDI_UNPAID_ORDER_MINUTES'),
    ('listing-expiry', '0 * * * *', 'catalog', 'listing.expire', '{}',
     'expires listings and boosts past their end'),
    ('reconciliation', '30 1 * * *', 'payments', 'payment.reconcile',
     '{"from": "{{yesterday}}", "to": "{{yesterday}}"}',
     'compares yesterday''s payments with Razorpay''s');

CREATE FUNCTION mandi_schedule_json(s schedules) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'name', s.name, 'cron', s.cron, 'timezone', 'Asia/Kolkata', 'service', s.service,
        'job_type', s.job_type, 'body', s.body, 'enabled', s.enabled,
        'description', s.description, 'next_run_at', mandi_ts(s.next_run_at),
        'last_run_at', mandi_ts(s.last_run_at), 'last_job_id', s.last_job_id,
        'last_job_status', (SELECT j.status FROM jobs j WHERE j.id = s.last_job_id));
