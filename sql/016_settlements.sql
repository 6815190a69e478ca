-- Merchant settlements: for a store and a period, what its delivered
-- orders came to, less the platform's commission (each store's own rate)
-- and refunds. Each order is settled once: settlement_orders holds it
-- under a unique key until its settlement is cancelled.

ALTER TABLE stores ADD COLUMN commission_bps integer NOT NULL DEFAULT 1000
    CHECK (commission_bps BETWEEN 0 AND 10000);

CREATE TABLE settlements (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    store_id         uuid        NOT NULL REFERENCES stores (id),
    period_start     date        NOT NULL,
    period_end       date        NOT NULL CHECK (period_end >= period_start),
    order_count      integer     NOT NULL,
    gross_paise      bigint      NOT NULL CHECK (gross_paise >= 0),
    commission_bps   integer     NOT NULL,
    commission_paise bigint      NOT NULL CHECK (commission_paise >= 0),
    refunds_paise    bigint      NOT NULL DEFAULT 0 CHECK (refunds_paise >= 0),
    net_paise        bigint      NOT NULL,
    status           text        NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'processing', 'paid', 'failed', 'cancelled')),
    note             text,
    created_by       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (net_paise = gross_paise - commission_paise - refunds_paise)
);
CREATE INDEX settlements_store ON settlements (store_id, period_start DESC);

CREATE TABLE settlement_orders (
    settlement_id uuid NOT NULL REFERENCES settlements (id) ON DELETE CASCADE,
    order_id      uuid NOT NULL UNIQUE REFERENCES orders (id),
    PRIMARY KEY (settlement_id, order_id)
);

CREATE FUNCTION mandi_settlement_json(s settlements) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'id', s.id, 'store_id', s.store_id, 'period_start', s.period_start,
        'period_end', s.period_end, 'order_count', s.order_count,
        'gross_paise', s.gross_paise, 'commission_bps', s.commission_bps,
        'commission_paise', s.commission_paise, 'refunds_paise', s.refunds_paise,
        'net_paise', s.net_paise, 'currency', 'INR', 'status', s.status, 'note', s.note,
        'created_at', mandi_ts(s.created_at), 'updated_at', mandi_ts(s.updated_at));
