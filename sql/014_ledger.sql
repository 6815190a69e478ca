-- The money ledger: double entry in integer paise.
--
-- Every movement is one journal entry of postings that sum to zero. An
-- account's balance is the sum of its postings, kept on the account row
-- and changed only by mandi_ledger_post, which locks the accounts it
-- touches in id order (so two entries never deadlock) and refuses an entry
-- that would take a user's wallet below zero. A wallet is what the
-- platform owes its user: credits raise it, debits lower it. Platform
-- accounts are the other side of every movement and may go negative (the
-- Razorpay clearing account, for instance, holds what Razorpay owes us).

CREATE TABLE ledger_accounts (
    id            bigserial   PRIMARY KEY,
    code          text        NOT NULL UNIQUE,   -- 'wallet:<user id>' or 'platform:<name>'
    kind          text        NOT NULL CHECK (kind IN ('wallet', 'platform')),
    user_id       uuid        UNIQUE REFERENCES users (id),
    balance_paise bigint      NOT NULL DEFAULT 0,
    currency      text        NOT NULL DEFAULT 'INR',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'wallet') = (user_id IS NOT NULL)),
    CONSTRAINT wallet_not_negative CHECK (kind <> 'wallet' OR balance_paise >= 0)
);

-- The platform's side of every movement.
INSERT INTO ledger_accounts (code, kind) VALUES
    ('platform:razorpay_clearing', 'platform'),   -- paid in through Razorpay, not yet settled to us
    ('platform:orders', 'platform'),              -- customers' payments for orders, owed to merchants
    ('platform:payouts_in_transit', 'platform'),  -- withdrawals on their way to a bank
    ('platform:revenue', 'platform'),             -- commission earned
    ('platform:cashback_expense', 'platform'),    -- cashback, referral and reward credits
    ('platform:adjustments', 'platform');         -- corrections by finance staff

CREATE TABLE ledger_entries (
    id         bigserial   PRIMARY KEY,
    source     text        NOT NULL CHECK (source IN ('topup', 'order', 'refund', 'cashback',
                               'referral', 'payout', 'reward', 'adjustment')),
    reference  text        NOT NULL,   -- what it is for: a checkout, an order, a payment, a job
    memo       text,
    actor_id   uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- One entry per (source, reference): a retried movement is refused,
    -- never posted twice.
    UNIQUE (source, reference)
);

CREATE TABLE ledger_postings (
    id            bigserial PRIMARY KEY,
    entry_id      bigint    NOT NULL REFERENCES ledger_entries (id),
    account_id    bigint    NOT NULL REFERENCES ledger_accounts (id),
    amount_paise  bigint    NOT NULL CHECK (amount_paise <> 0),
    balance_after bigint    NOT NULL
);
CREATE INDEX ledger_postings_account ON ledger_postings (account_id, id DESC);
CREATE INDEX ledger_postings_entry ON ledger_postings (entry_id);

-- The wallet account of user u, made on first use.
CREATE FUNCTION mandi_wallet_account(u uuid) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    account bigint;
BEGIN
    SELECT id INTO account FROM ledger_accounts WHERE user_id = u;
    IF account IS NULL THEN
        INSERT INTO ledger_accounts (code, kind, user_id) VALUES ('wallet:' || u, 'wallet', u)
            ON CONFLICT (user_id) DO NOTHING;
        SELECT id INTO account FROM ledger_accounts WHERE user_id = u;
    END IF;
    RETURN account;
END
$$;

-- Posts one entry: legs is [{"account": code, "amount": paise}, ...] with
-- amounts that sum to zero (none zero, at least two, an account once).
-- Raises check_violation (constraint wallet_not_negative) when a wallet
-- would go below zero, unique_violation when (source, reference) was
-- posted before. Returns the entry id.
CREATE FUNCTION mandi_ledger_post(p_source text, p_reference text, p_memo text, p_actor uuid,
                                  legs jsonb) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    entry bigint;
    leg record;
BEGIN
    IF jsonb_typeof(legs) <> 'array' OR jsonb_array_length(legs) < 2 THEN
        RAISE EXCEPTION 'a ledger entry needs at least two legs' USING ERRCODE = 'P0001';
    END IF;
    IF (SELECT sum((l->>'amount')::bigint) FROM jsonb_array_elements(legs) l) <> 0
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(legs) l WHERE (l->>'amount')::bigint = 0)
       OR (SELECT count(DISTINCT l->>'account') FROM jsonb_array_elements(legs) l)
          <> jsonb_array_length(legs) THEN
        RAISE EXCEPTION 'ledger legs must be non-zero, on distinct accounts, and sum to zero'
            USING ERRCODE = 'P0001';
    END IF;
    INSERT INTO ledger_entries (source, reference, memo, actor_id)
        VALUES (p_source, p_reference, p_memo, p_actor) RETURNING id INTO entry;
    -- Accounts in id order: every entry locks in the same order.
    FOR leg IN
        SELECT a.id, (l->>'amount')::bigint AS amount
        FROM jsonb_array_elements(legs) l JOIN ledger_accounts a ON a.code = l->>'account'
        ORDER BY a.id
    LOOP
        WITH moved AS (
            UPDATE ledger_accounts SET balance_paise = balance_paise + leg.amount,
                                       updated_at = now()
            WHERE id = leg.id RETURNING balance_paise)
        INSERT INTO ledger_postings (entry_id, account_id, amount_paise, balance_after)
            SELECT entry, leg.id, leg.amount, balance_paise FROM moved;
    END LOOP;
    IF (SELECT count(*) FROM ledger_postings WHERE entry_id = entry)
       <> jsonb_array_length(legs) THEN
        RAISE EXCEPTION 'a ledger leg names an account that does not exist'
            USING ERRCODE = 'P0001';
    END IF;
    RETURN entry;
END
$$;

-- A wallet movement as the apps show it.
CREATE FUNCTION mandi_wallet_txn_json(p ledger_postings, e ledger_entries) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'id', p.id, 'type', CASE WHEN p.amount_paise > 0 THEN 'credit' ELSE 'debit' END,
        'source', e.source, 'status', 'completed', 'amount_paise', abs(p.amount_paise),
        'balance_before_paise', p.balance_after - p.amount_paise,
        'balance_after_paise', p.balance_after, 'reference', e.reference, 'memo', e.memo,
        'created_at', mandi_ts(e.created_at));
