-- Refunds of payments taken through Razorpay, asked for by finance or made
-- by a cancellation. A refund's money leaves the wallet (a top-up) or the
-- orders account (an order payment) for "refunds pending" at once, so it
-- cannot be spent or refunded twice while Razorpay works on it; Razorpay's
-- answer or webhook then moves it to the clearing account (processed) or
-- to the customer's wallet (failed: the customer is still owed it).

INSERT INTO ledger_accounts (code, kind) VALUES ('platform:refunds_pending', 'platform');

CREATE TABLE refunds (
    id                 uuid        PRIMARY KEY,
    payment_id         uuid        NOT NULL REFERENCES payments (id),
    -- The payment's n-th refund: its Razorpay idempotency key is
    -- '<payment id>-<seq>', the same for every try at this refund, even a
    -- try whose first attempt was rolled back after Razorpay acted on it.
    seq                integer     NOT NULL CHECK (seq > 0),
    order_id           uuid        REFERENCES orders (id),   -- the order it gives back for
    cancellation       boolean     NOT NULL DEFAULT false,   -- made by the order's cancellation
    amount_paise       bigint      NOT NULL CHECK (amount_paise > 0),
    reason             text        NOT NULL,
    status             text        NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'pending', 'processed', 'failed')),
    razorpay_refund_id text        UNIQUE,
    failure_reason     text,
    actor_id           uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    processed_at       timestamptz,
    UNIQUE (payment_id, seq)
);
-- A cancelled order is refunded once, whichever of its cancellation and
-- its late payment comes second. (Finance may refund parts of an order too.)
CREATE UNIQUE INDEX refunds_cancellation_once ON refunds (order_id) WHERE cancellation;
CREATE INDEX refunds_order ON refunds (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX refunds_status ON refunds (status, created_at DESC);

-- The payment that paid an order (set when it is settled), so a
-- cancellation refunds that payment.
ALTER TABLE orders ADD COLUMN paid_by uuid REFERENCES payments (id);

CREATE FUNCTION mandi_refund_json(r refunds) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'id', r.id, 'payment_id', r.payment_id, 'order_id', r.order_id,
        'cancellation', r.cancellation,
        'amount_paise', r.amount_paise, 'currency', 'INR', 'reason', r.reason,
        'status', r.status, 'razorpay_refund_id', r.razorpay_refund_id,
        'failure_reason', r.failure_reason, 'created_at', mandi_ts(r.created_at),
        'processed_at', mandi_ts(r.processed_at));
