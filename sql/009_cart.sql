-- Carts: one per user, lines per product and variant. Prices are read from
-- the products at every look; price_at_add_paise remembers what the user
-- saw, so a change since can be pointed out.

CREATE TABLE carts (
    user_id    uuid        PRIMARY KEY REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cart_items (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid        NOT NULL REFERENCES carts (user_id) ON DELETE CASCADE,
    product_id         uuid        NOT NULL REFERENCES products (id),
    variant            text        NOT NULL DEFAULT '',   -- '' : the product itself
    quantity           integer     NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    price_at_add_paise bigint      NOT NULL CHECK (price_at_add_paise > 0),
    added_at           timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, product_id, variant)
);
CREATE INDEX cart_items_product ON cart_items (product_id);

-- The caller's cart as the apps show it: each line with the product's
-- current price and state, and the totals in paise. A store's delivery fee
-- is fee_paise unless the cart's available lines from that store reach
-- free_from_paise. Selling prices include GST, so no tax is added.
CREATE FUNCTION mandi_cart_json(owner uuid, fee_paise bigint, free_from_paise bigint)
    RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH lines AS (
        SELECT ci.*, p.name, p.sku, p.store_id, s.name AS store_name,
               p.selling_price_paise AS price, p.stock, p.min_order_qty,
               p.images->>0 AS image,
               (p.deleted_at IS NULL AND p.is_active AND s.is_active) AS available
        FROM cart_items ci JOIN products p ON p.id = ci.product_id
        JOIN stores s ON s.id = p.store_id
        WHERE ci.user_id = owner),
    per_store AS (
        SELECT store_id, sum(price * quantity) FILTER (WHERE available) AS subtotal
        FROM lines GROUP BY store_id),
    totals AS (
        SELECT coalesce((SELECT sum(subtotal) FROM per_store), 0) AS subtotal,
               coalesce((SELECT sum(CASE WHEN subtotal >= free_from_paise THEN 0 ELSE fee_paise END)
                         FROM per_store WHERE subtotal > 0), 0) AS delivery)
    SELECT jsonb_build_object(
        'items', coalesce((SELECT jsonb_agg(jsonb_build_object(
            'id', l.id, 'product_id', l.product_id, 'variant', nullif(l.variant, ''),
            'name', l.name, 'sku', l.sku, 'image', l.image,
            'store_id', l.store_id, 'store_name', l.store_name,
            'quantity', l.quantity, 'unit_price_paise', l.price,
            'price_at_add_paise', l.price_at_add_paise,
            'line_total_paise', l.price * l.quantity, 'available', l.available,
            'in_stock', l.stock > 0, 'added_at', mandi_ts(l.added_at))
            ORDER BY l.added_at, l.id) FROM lines l), '[]'),
        'item_count', coalesce((SELECT sum(quantity) FROM lines WHERE available), 0),
        'subtotal_paise', t.subtotal,
        'discount_paise', 0,
        'delivery_fee_paise', t.delivery,
        'tax_paise', 0,
        'total_paise', t.subtotal + t.delivery,
        'currency', 'INR')
    FROM totals t
$$;
