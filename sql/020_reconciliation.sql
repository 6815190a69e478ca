-- Reconciliation with Razorpay: each run compares our payments with
-- Razorpay's for a period and keeps what differed, so finance staff can
-- look at a run again after the fact. A run that could not read Razorpay
-- is not recorded at all (its job fails and rolls back).

CREATE TABLE reconciliation_runs (
    id                uuid        PRIMARY KEY,         -- the job's id: a redelivered job runs once
    period_from       timestamptz NOT NULL,
    period_to         timestamptz NOT NULL,            -- inclusive, to the second
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz NOT NULL,
    actor_id          uuid,                            -- NULL when a scheduler enqueued it
    actor_role        text,
    razorpay_payments integer     NOT NULL CHECK (razorpay_payments >= 0),  -- listed by Razorpay
    our_payments      integer     NOT NULL CHECK (our_payments >= 0),       -- ours created in the period
    mismatch_count    integer     NOT NULL CHECK (mismatch_count >= 0),
    status            text        NOT NULL CHECK (status IN ('clean', 'mismatches')),
    CHECK (period_from <= period_to),
    CHECK ((status = 'clean') = (mismatch_count = 0))
);
CREATE INDEX reconciliation_runs_started ON reconciliation_runs (started_at DESC, id DESC);

-- A run reads our payments by the period they were created in.
CREATE INDEX payments_created ON payments (created_at);

-- One row per difference found. The kinds are those of the table `kinds`
-- in workers/payments_reconcile.c, which decides them; a new kind is added
-- there, to this CHECK and to the counts of mandi_reconciliation_json.
CREATE TABLE reconciliation_mismatches (
    id                    bigserial PRIMARY KEY,
    run_id                uuid      NOT NULL REFERENCES reconciliation_runs (id),
    kind                  text      NOT NULL CHECK (kind IN ('captured_at_razorpay_only',
                              'captured_here_only', 'amount_differs', 'refunded_differs',
                              'unknown_order')),
    payment_id            uuid,     -- ours, when we have one
    razorpay_payment_id   text,     -- theirs, when Razorpay has one
    razorpay_order_id     text,
    ours_status           text,
    theirs_status         text,
    ours_amount_paise     bigint,
    theirs_amount_paise   bigint,
    ours_refunded_paise   bigint,
    theirs_refunded_paise bigint,
    detail                text      NOT NULL
);
CREATE INDEX reconciliation_mismatches_run ON reconciliation_mismatches (run_id, id);

CREATE FUNCTION mandi_reconciliation_mismatch_json(m reconciliation_mismatches) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'kind', m.kind, 'payment_id', m.payment_id, 'razorpay_payment_id', m.razorpay_payment_id,
        'razorpay_order_id', m.razorpay_order_id, 'ours_status', m.ours_status,
        'theirs_status', m.theirs_status, 'ours_amount_paise', m.ours_amount_paise,
        'theirs_amount_paise', m.theirs_amount_paise,
        'ours_refunded_paise', m.ours_refunded_paise,
        'theirs_refunded_paise', m.theirs_refunded_paise, 'detail', m.detail);

-- A run as the admin app shows it; counts has every kind, zeros included,
-- so a client need not know the kinds to read it.
CREATE FUNCTION mandi_reconciliation_json(r reconciliation_runs) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'id', r.id, 'from', mandi_ts(r.period_from), 'to', mandi_ts(r.period_to),
        'from_unix', extract(epoch FROM r.period_from)::bigint,
        'to_unix', extract(epoch FROM r.period_to)::bigint,
        'started_at', mandi_ts(r.started_at), 'finished_at', mandi_ts(r.finished_at),
        'actor_id', r.actor_id, 'actor_role', r.actor_role, 'status', r.status,
        'razorpay_payments', r.razorpay_payments, 'our_payments', r.our_payments,
        'mismatch_count', r.mismatch_count,
        'counts', (SELECT jsonb_object_agg(k.kind, (SELECT count(*) FROM reconciliation_mismatches m
                                                     WHERE m.run_id = r.id AND m.kind = k.kind))
                   FROM unnest(ARRAY['captured_at_razorpay_only', 'captured_here_only',
                                     'amount_differs', 'refunded_differs',
                                     'unknown_order']) AS k (kind)));
