-- Promotions: what each kind takes (the arithmetic is workers/promo_math.c,
-- docs/PROMOTIONS.md), when and for whom it is valid, and how often it has
-- been used. The check constraints are named after the field they guard, so
-- a refused write can name that field.

CREATE TABLE promotions (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    code               text        NOT NULL,      -- upper case, what customers type
    name               text        NOT NULL,
    description        text,
    kind               text        NOT NULL
                       CHECK (kind IN ('percentage', 'fixed', 'buy_x_get_y', 'bundle')),
    percent_bps        integer,
    cap_paise          bigint      NOT NULL DEFAULT 0,
    amount_paise       bigint,
    buy_qty            integer,
    get_qty            integer,
    bundle_items       jsonb,                     -- [{"product_id", "qty"}]
    bundle_price_paise bigint,
    min_cart_paise     bigint      NOT NULL DEFAULT 0,
    scope              text        NOT NULL DEFAULT 'all'
                       CHECK (scope IN ('all', 'categories', 'products', 'stores', 'zones')),
    scope_ids          text[]      NOT NULL DEFAULT '{}',
    stackable          boolean     NOT NULL DEFAULT false,
    starts_at          timestamptz NOT NULL,
    ends_at            timestamptz NOT NULL,
    usage_limit        integer,                   -- NULL: no limit
    per_user_limit     integer,                   -- NULL: no limit
    used_count         integer     NOT NULL DEFAULT 0,
    is_active          boolean     NOT NULL DEFAULT true,
    created_by         uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deleted_at         timestamptz,
    CONSTRAINT percent_bps CHECK (
        (kind = 'percentage') = (percent_bps IS NOT NULL) AND percent_bps BETWEEN 1 AND 10000),
    CONSTRAINT cap_paise CHECK (cap_paise >= 0 AND (kind = 'percentage' OR cap_paise = 0)),
    CONSTRAINT amount_paise CHECK (
        (kind = 'fixed') = (amount_paise IS NOT NULL) AND amount_paise >= 1),
    CONSTRAINT buy_qty CHECK ((kind = 'buy_x_get_y') = (buy_qty IS NOT NULL) AND buy_qty >= 1),
    CONSTRAINT get_qty CHECK ((kind = 'buy_x_get_y') = (get_qty IS NOT NULL) AND get_qty >= 1),
    CONSTRAINT bundle_items CHECK (
        (kind = 'bundle') = (bundle_items IS NOT NULL)
        AND (bundle_items IS NULL OR jsonb_array_length(bundle_items) >= 1)),
    CONSTRAINT bundle_price_paise CHECK (
        (kind = 'bundle') = (bundle_price_paise IS NOT NULL) AND bundle_price_paise >= 0),
    CONSTRAINT min_cart_paise CHECK (min_cart_paise >= 0),
    CONSTRAINT scope_ids CHECK ((scope = 'all') = (cardinality(scope_ids) = 0)),
    CONSTRAINT ends_at CHECK (ends_at > starts_at),
    CONSTRAINT usage_limit CHECK (usage_limit >= 1),
    CONSTRAINT per_user_limit CHECK (per_user_limit >= 1),
    -- The limit is the ceiling the checkout's conditional increment keeps.
    CONSTRAINT used_count CHECK (used_count >= 0 AND used_count <= coalesce(usage_limit, used_count))
);
CREATE UNIQUE INDEX promotions_code ON promotions (code) WHERE deleted_at IS NULL;
CREATE INDEX promotions_live ON promotions (ends_at) WHERE deleted_at IS NULL AND is_active;

-- The promotions attached to a cart, in the order they were attached (the
-- order they are stacked in).
CREATE TABLE cart_promotions (
    user_id      uuid        NOT NULL REFERENCES carts (user_id) ON DELETE CASCADE,
    promotion_id uuid        NOT NULL REFERENCES promotions (id),
    position     bigserial,
    attached_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, promotion_id)
);
CREATE INDEX cart_promotions_promotion ON cart_promotions (promotion_id);

-- One row per promotion used by a checkout; released when every order of
-- that checkout is cancelled (the use is given back).
CREATE TABLE promotion_redemptions (
    id             bigserial   PRIMARY KEY,
    promotion_id   uuid        NOT NULL REFERENCES promotions (id),
    user_id        uuid        NOT NULL REFERENCES users (id),
    checkout_id    uuid        NOT NULL,
    discount_paise bigint      NOT NULL CHECK (discount_paise > 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    released_at    timestamptz,
    UNIQUE (promotion_id, checkout_id)
);
CREATE INDEX promotion_redemptions_user ON promotion_redemptions (promotion_id, user_id)
    WHERE released_at IS NULL;
CREATE INDEX promotion_redemptions_checkout ON promotion_redemptions (checkout_id);

-- Each order's part of each promotion's discount (docs/PROMOTIONS.md §6);
-- orders.discount_paise is their sum.
CREATE TABLE order_promotions (
    order_id       uuid   NOT NULL REFERENCES orders (id),
    promotion_id   uuid   NOT NULL REFERENCES promotions (id),
    code           text   NOT NULL,
    discount_paise bigint NOT NULL CHECK (discount_paise > 0),
    PRIMARY KEY (order_id, promotion_id)
);

CREATE FUNCTION mandi_promotion_json(p promotions) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'id', p.id, 'code', p.code, 'name', p.name, 'description', p.description,
        'kind', p.kind, 'percent_bps', p.percent_bps, 'cap_paise', p.cap_paise,
        'amount_paise', p.amount_paise, 'buy_qty', p.buy_qty, 'get_qty', p.get_qty,
        'bundle_items', p.bundle_items, 'bundle_price_paise', p.bundle_price_paise,
        'min_cart_paise', p.min_cart_paise, 'scope', p.scope, 'scope_ids', to_jsonb(p.scope_ids),
        'stackable', p.stackable, 'starts_at', mandi_ts(p.starts_at),
        'ends_at', mandi_ts(p.ends_at), 'usage_limit', p.usage_limit,
        'per_user_limit', p.per_user_limit, 'used_count', p.used_count,
        'is_active', p.is_active, 'created_at', mandi_ts(p.created_at),
        'updated_at', mandi_ts(p.updated_at));

-- Why promotion p cannot be used by user u now, or NULL when it can.
CREATE FUNCTION mandi_promotion_unusable(p promotions, u uuid) RETURNS text
    LANGUAGE sql STABLE
    RETURN CASE
        WHEN p.deleted_at IS NOT NULL THEN 'deleted'
        WHEN NOT p.is_active THEN 'inactive'
        WHEN now() < p.starts_at THEN 'not_started'
        WHEN now() >= p.ends_at THEN 'expired'
        WHEN p.used_count >= p.usage_limit THEN 'exhausted'
        WHEN p.per_user_limit IS NOT NULL AND
             (SELECT count(*) FROM promotion_redemptions r WHERE r.promotion_id = p.id
              AND r.user_id = u AND r.released_at IS NULL) >= p.per_user_limit THEN 'user_limit'
    END;

-- An order's JSON gains the promotions that discounted it.
CREATE OR REPLACE FUNCTION mandi_order_json(o orders) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'id', o.id, 'number', o.number, 'checkout_id', o.checkout_id, 'user_id', o.user_id,
        'store_id', o.store_id, 'zone', o.zone, 'status', o.status,
        'payment_method', o.payment_method, 'address', o.address, 'notes', o.notes,
        'subtotal_paise', o.subtotal_paise, 'discount_paise', o.discount_paise,
        'delivery_fee_paise', o.delivery_fee_paise, 'total_paise', o.total_paise,
        'currency', o.currency, 'cancel_reason', o.cancel_reason,
        'created_at', mandi_ts(o.created_at), 'updated_at', mandi_ts(o.updated_at),
        'items', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                      'product_id', i.product_id, 'name', i.name, 'sku', i.sku,
                      'variant', i.variant, 'unit_price_paise', i.unit_price_paise,
                      'quantity', i.quantity, 'line_total_paise', i.line_total_paise)
                      ORDER BY i.name, i.id), '[]')
                  FROM order_items i WHERE i.order_id = o.id),
        'promotions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                           'promotion_id', op.promotion_id, 'code', op.code,
                           'discount_paise', op.discount_paise) ORDER BY op.code), '[]')
                       FROM order_promotions op WHERE op.order_id = o.id));
