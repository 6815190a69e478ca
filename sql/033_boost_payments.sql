-- Boosts of listings paid through Razorpay: a payment of purpose
-- 'listing_boost' names the boost it pays (waiting for payment, with the
-- plan's price copied). When it is captured the money is the platform's
-- at once (there is no merchant to pay out), so it moves from the clearing
-- account to the boost sales account, and the boost becomes active; a
-- boost that is no longer waiting by then (replaced, or its listing sold,
-- deleted or expired) is refunded in full instead.

ALTER TABLE payments ADD COLUMN boost_id uuid REFERENCES listing_boosts (id);

-- The purpose checks of 017 were unnamed; they are found by what they say.
DO $$
DECLARE
    c text;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'payments'::regclass AND contype = 'c'
               AND pg_get_constraintdef(oid) LIKE '%purpose%'
    LOOP
        EXECUTE format('ALTER TABLE payments DROP CONSTRAINT %I', c);
    END LOOP;
END $$;

ALTER TABLE payments
    ADD CONSTRAINT payments_purpose_known
        CHECK (purpose IN ('wallet_topup', 'order', 'listing_boost')),
    ADD CONSTRAINT payments_order_has_checkout
        CHECK ((purpose = 'order') = (checkout_id IS NOT NULL)),
    ADD CONSTRAINT payments_boost_has_boost
        CHECK ((purpose = 'listing_boost') = (boost_id IS NOT NULL));
CREATE INDEX payments_boost ON payments (boost_id) WHERE boost_id IS NOT NULL;

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_source_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_source_check
    CHECK (source IN ('topup', 'order', 'refund', 'cashback', 'referral', 'payout', 'reward',
                      'adjustment', 'boost'));

INSERT INTO ledger_accounts (code, kind) VALUES
    ('platform:boost_sales', 'platform');   -- listing boosts sold

CREATE OR REPLACE FUNCTION mandi_payment_json(p payments) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'payment_id', p.id, 'purpose', p.purpose, 'checkout_id', p.checkout_id,
        'boost_id', p.boost_id, 'amount_paise', p.amount_paise, 'currency', p.currency,
        'razorpay_order_id', p.razorpay_order_id, 'razorpay_payment_id', p.razorpay_payment_id,
        'status', p.status, 'amount_refunded_paise', p.amount_refunded_paise,
        'failure_reason', p.failure_reason, 'created_at', mandi_ts(p.created_at),
        'captured_at', mandi_ts(p.captured_at));
