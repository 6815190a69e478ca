-- Payouts paid through RazorpayX. Processing one makes (or finds again) a
-- RazorpayX contact for the user and a fund account for the payout's
-- destination, kept here so that every later attempt sends the very same
-- payout body under the payout's idempotency key; Razorpay's payout id
-- links the webhooks that settle it.
--
-- A processed payout's money has left through the RazorpayX account, so
-- payouts in transit move to an account of its own rather than to the
-- payment gateway's clearing: the two are different Razorpay balances and
-- are reconciled against different statements.

ALTER TABLE payouts
    ADD COLUMN razorpay_contact_id      text,
    ADD COLUMN razorpay_fund_account_id text,
    ADD COLUMN processed_at             timestamptz,
    -- A process got no answer (or a 5xx): RazorpayX may hold the payout, so
    -- it may not be cancelled or rejected until a process learns its state.
    ADD COLUMN process_in_doubt         boolean NOT NULL DEFAULT false;

INSERT INTO ledger_accounts (code, kind) VALUES
    ('platform:razorpayx', 'platform');   -- paid out of the RazorpayX account

CREATE OR REPLACE FUNCTION mandi_payout_json(p payouts) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'id', p.id, 'user_id', p.user_id, 'amount_paise', p.amount_paise, 'currency', 'INR',
        'mode', p.mode,
        'destination', CASE WHEN p.mode = 'vpa' THEN p.destination
            ELSE jsonb_build_object('name', p.destination->>'name',
                                    'ifsc', p.destination->>'ifsc',
                                    'account_number', 'XXXX' || right(p.destination->>'account_number', 4))
            END,
        'status', p.status, 'razorpay_payout_id', p.razorpay_payout_id,
        'razorpay_fund_account_id', p.razorpay_fund_account_id, 'reason', p.reason,
        'processed_at', mandi_ts(p.processed_at),
        'created_at', mandi_ts(p.created_at), 'updated_at', mandi_ts(p.updated_at));
