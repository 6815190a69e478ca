-- Inventory (stock history), favorites and back-in-stock requests.

-- Every change of a product's stock, with who made it and why.
CREATE TABLE stock_history (
    id         bigserial   PRIMARY KEY,
    product_id uuid        NOT NULL REFERENCES products (id),
    before     integer     NOT NULL CHECK (before >= 0),
    after      integer     NOT NULL CHECK (after >= 0),
    reason     text        NOT NULL,
    actor_id   uuid,                      -- NULL: the system (an order, a job)
    job_id     text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_history_product ON stock_history (product_id, id DESC);

CREATE FUNCTION mandi_stock_history_json(h stock_history) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', h.id, 'product_id', h.product_id, 'before', h.before, 'after', h.after,
        'delta', h.after - h.before, 'reason', h.reason, 'actor_id', h.actor_id,
        'created_at', mandi_ts(h.created_at));

-- Changes the stock of one live product under its row lock: by delta, or
-- to set_to when that is not NULL. Returns nothing when there is no such
-- product; when the change would take the stock below zero it changes
-- nothing and returns ok = false with the stock as it is. Otherwise it
-- writes the history row and returns the stock before and after and the
-- product's low-stock threshold, from which the caller decides the events.
CREATE FUNCTION mandi_stock_change(product uuid, delta integer, set_to integer, reason text,
                                   actor uuid, job text)
    RETURNS TABLE (ok boolean, before integer, after integer, threshold integer,
                   store_id uuid, owner_id uuid)
    LANGUAGE plpgsql AS $$
DECLARE
    p products%ROWTYPE;
    next integer;
BEGIN
    -- NO KEY UPDATE: orders insert items that reference the product (KEY
    -- SHARE) in the same transactions; a plain FOR UPDATE would deadlock them.
    SELECT * INTO p FROM products WHERE id = product AND deleted_at IS NULL FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    next := coalesce(set_to, p.stock::bigint + delta);
    SELECT s.owner_id INTO owner_id FROM stores s WHERE s.id = p.store_id;
    IF next < 0 THEN
        RETURN QUERY SELECT false, p.stock, p.stock, p.low_stock_threshold, p.store_id, owner_id;
        RETURN;
    END IF;
    UPDATE products SET stock = next, updated_at = now() WHERE id = product;
    INSERT INTO stock_history (product_id, before, after, reason, actor_id, job_id)
        VALUES (product, p.stock, next, reason, actor, job);
    RETURN QUERY SELECT true, p.stock, next, p.low_stock_threshold, p.store_id, owner_id;
END
$$;

CREATE TABLE favorites (
    user_id    uuid        NOT NULL REFERENCES users (id),
    product_id uuid        NOT NULL REFERENCES products (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, product_id)
);
CREATE INDEX favorites_product ON favorites (product_id);

-- A user waiting for a product to come back in stock. notified_at is set
-- when the product is restocked (and the notification event recorded);
-- subscribing again afterwards waits for the next restock.
CREATE TABLE notify_requests (
    user_id     uuid        NOT NULL REFERENCES users (id),
    product_id  uuid        NOT NULL REFERENCES products (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    notified_at timestamptz,
    PRIMARY KEY (user_id, product_id)
);
CREATE INDEX notify_requests_waiting ON notify_requests (product_id) WHERE notified_at IS NULL;

CREATE FUNCTION mandi_notify_request_json(n notify_requests) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'user_id', n.user_id, 'product_id', n.product_id,
        'status', CASE WHEN n.notified_at IS NULL THEN 'waiting' ELSE 'notified' END,
        'created_at', mandi_ts(n.created_at), 'notified_at', mandi_ts(n.notified_at));

-- Stores near a point: great-circle distance in kilometres.
CREATE FUNCTION mandi_distance_km(lat1 double precision, lng1 double precision,
                                  lat2 double precision, lng2 double precision)
    RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 6371.0 * 2 * asin(sqrt(
        power(sin(radians(lat2 - lat1) / 2), 2)
        + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lng2 - lng1) / 2), 2)));

CREATE INDEX stores_location ON stores (latitude, longitude) WHERE is_active;
CREATE INDEX products_low_stock ON products (store_id, stock)
    WHERE deleted_at IS NULL AND stock <= low_stock_threshold;

-- A name the catalog pool maps to a field error on selling_price_paise.
ALTER TABLE products RENAME CONSTRAINT products_check TO products_selling_price_within_original;
