-- Payments taken through Razorpay: one row per Razorpay order we create
-- (our id is its receipt), settled once into the ledger whichever of the
-- app's verification and Razorpay's webhook arrives first; and every
-- webhook event received, recorded before it is acted on.

CREATE TABLE payments (
    id                    uuid        PRIMARY KEY,
    user_id               uuid        NOT NULL REFERENCES users (id),
    purpose               text        NOT NULL CHECK (purpose IN ('wallet_topup', 'order')),
    checkout_id           uuid,                    -- purpose order: the orders it pays
    amount_paise          bigint      NOT NULL CHECK (amount_paise > 0),
    currency              text        NOT NULL DEFAULT 'INR',
    razorpay_order_id     text        UNIQUE,
    razorpay_payment_id   text        UNIQUE,
    status                text        NOT NULL DEFAULT 'created'
                          CHECK (status IN ('created', 'authorized', 'captured', 'failed')),
    amount_refunded_paise bigint      NOT NULL DEFAULT 0,
    failure_reason        text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    captured_at           timestamptz,
    CHECK ((purpose = 'order') = (checkout_id IS NOT NULL)),
    CHECK (amount_refunded_paise BETWEEN 0 AND amount_paise)
);
CREATE INDEX payments_user ON payments (user_id, created_at DESC);
CREATE INDEX payments_checkout ON payments (checkout_id) WHERE checkout_id IS NOT NULL;

CREATE TABLE webhook_events (
    event_id     text        PRIMARY KEY,         -- X-Razorpay-Event-Id
    event        text        NOT NULL,
    entity_id    text,                            -- the payment, refund or payout
    body         jsonb       NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    outcome      text
);
-- One effect per event type and entity, even when Razorpay sends it again
-- under a new event id.
CREATE UNIQUE INDEX webhook_events_once ON webhook_events (event, entity_id)
    WHERE entity_id IS NOT NULL;

CREATE FUNCTION mandi_payment_json(p payments) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'payment_id', p.id, 'purpose', p.purpose, 'checkout_id', p.checkout_id,
        'amount_paise', p.amount_paise, 'currency', p.currency,
        'razorpay_order_id', p.razorpay_order_id, 'razorpay_payment_id', p.razorpay_payment_id,
        'status', p.status, 'amount_refunded_paise', p.amount_refunded_paise,
        'failure_reason', p.failure_reason, 'created_at', mandi_ts(p.created_at),
        'captured_at', mandi_ts(p.captured_at));
