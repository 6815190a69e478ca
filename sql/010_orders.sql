-- Orders: one per store of a checked-out cart, with the items copied as
-- they were sold (name, SKU, price) and every status change recorded.

CREATE SEQUENCE order_number_seq;

CREATE TABLE orders (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    number             text        NOT NULL UNIQUE
                                   DEFAULT 'MND-' || lpad(nextval('order_number_seq')::text, 8, '0'),
    checkout_id        uuid        NOT NULL,      -- the orders made by one checkout
    user_id            uuid        NOT NULL REFERENCES users (id),
    store_id           uuid        NOT NULL REFERENCES stores (id),
    zone               text        NOT NULL,      -- the store's, when ordered
    status             text        NOT NULL DEFAULT 'PENDING'
                       CHECK (status IN ('PENDING', 'CONFIRMED', 'PROCESSING', 'SHIPPED',
                                         'DELIVERED', 'CANCELLED')),
    payment_method     text        NOT NULL CHECK (payment_method IN ('wallet', 'razorpay', 'cod')),
    address            jsonb       NOT NULL,      -- copied from the user's address
    notes              text,
    subtotal_paise     bigint      NOT NULL CHECK (subtotal_paise >= 0),
    discount_paise     bigint      NOT NULL DEFAULT 0 CHECK (discount_paise >= 0),
    delivery_fee_paise bigint      NOT NULL DEFAULT 0 CHECK (delivery_fee_paise >= 0),
    total_paise        bigint      NOT NULL CHECK (total_paise >= 0),
    currency           text        NOT NULL DEFAULT 'INR',
    cancel_reason      text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (total_paise = subtotal_paise - discount_paise + delivery_fee_paise)
);
CREATE INDEX orders_user ON orders (user_id, created_at DESC);
CREATE INDEX orders_store ON orders (store_id, created_at DESC);
CREATE INDEX orders_zone ON orders (zone, created_at DESC);
CREATE INDEX orders_status ON orders (status, created_at DESC);

CREATE TABLE order_items (
    id               uuid    PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id         uuid    NOT NULL REFERENCES orders (id),
    product_id       uuid    NOT NULL REFERENCES products (id),
    name             text    NOT NULL,
    sku              text    NOT NULL,
    variant          text,
    unit_price_paise bigint  NOT NULL CHECK (unit_price_paise > 0),
    quantity         integer NOT NULL CHECK (quantity > 0),
    line_total_paise bigint  NOT NULL CHECK (line_total_paise = unit_price_paise * quantity)
);
CREATE INDEX order_items_order ON order_items (order_id);
CREATE INDEX order_items_product ON order_items (product_id);

CREATE TABLE order_status_history (
    id          bigserial   PRIMARY KEY,
    order_id    uuid        NOT NULL REFERENCES orders (id),
    from_status text,                          -- NULL: created
    to_status   text        NOT NULL,
    actor_id    uuid,
    actor_role  text,
    note        text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_status_history_order ON order_status_history (order_id, id);

CREATE FUNCTION mandi_order_json(o orders) RETURNS jsonb
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
                  FROM order_items i WHERE i.order_id = o.id));

CREATE FUNCTION mandi_order_history_json(o uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'from', h.from_status, 'to', h.to_status, 'actor_id', h.actor_id,
                'actor_role', h.actor_role, 'note', h.note, 'at', mandi_ts(h.created_at))
                ORDER BY h.id), '[]')
            FROM order_status_history h WHERE h.order_id = o);
