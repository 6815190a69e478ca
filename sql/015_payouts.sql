-- Withdrawals from a wallet to a bank account or UPI address. Requesting
-- one moves the amount from the wallet to "payouts in transit"; a
-- cancellation or rejection moves it back; a processed payout leaves the
-- platform through Razorpay. Each move is a ledger entry referenced by the
-- payout (see mandi_ledger_post).

CREATE TABLE payouts (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid        NOT NULL REFERENCES users (id),
    amount_paise       bigint      NOT NULL CHECK (amount_paise > 0),
    mode               text        NOT NULL CHECK (mode IN ('bank_account', 'vpa')),
    destination        jsonb       NOT NULL,   -- {account_number, ifsc, name} or {address}
    status             text        NOT NULL DEFAULT 'requested'
                       CHECK (status IN ('requested', 'processing', 'processed', 'reversed',
                                         'failed', 'cancelled', 'rejected')),
    razorpay_payout_id text        UNIQUE,
    reason             text,                   -- why rejected, failed or reversed
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payouts_user ON payouts (user_id, created_at DESC);
CREATE INDEX payouts_status ON payouts (status, created_at DESC);

-- A payout as the apps show it: the account number masked.
CREATE FUNCTION mandi_payout_json(p payouts) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'id', p.id, 'user_id', p.user_id, 'amount_paise', p.amount_paise, 'currency', 'INR',
        'mode', p.mode,
        'destination', CASE WHEN p.mode = 'vpa' THEN p.destination
            ELSE jsonb_build_object('name', p.destination->>'name',
                                    'ifsc', p.destination->>'ifsc',
                                    'account_number', 'XXXX' || right(p.destination->>'account_number', 4))
            END,
        'status', p.status, 'razorpay_payout_id', p.razorpay_payout_id, 'reason', p.reason,
        'created_at', mandi_ts(p.created_at), 'updated_at', mandi_ts(p.updated_at));
