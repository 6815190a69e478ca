-- Catalog: categories, merchants' stores, products with full-text search.
-- Prices are integer paise.

CREATE TABLE categories (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    parent_id   uuid        REFERENCES categories (id),
    name        text        NOT NULL,
    slug        text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    description text,
    image_url   text,
    sort_order  integer     NOT NULL DEFAULT 0,
    is_active   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX categories_parent ON categories (parent_id, sort_order, name);

CREATE FUNCTION mandi_category_json(c categories) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', c.id, 'parent_id', c.parent_id, 'name', c.name, 'slug', c.slug,
        'description', c.description, 'image_url', c.image_url, 'sort_order', c.sort_order,
        'is_active', c.is_active, 'created_at', mandi_ts(c.created_at),
        'updated_at', mandi_ts(c.updated_at));

CREATE TABLE stores (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id           uuid        NOT NULL REFERENCES users (id),
    name               text        NOT NULL,
    description        text,
    category_id        uuid        REFERENCES categories (id),
    city               text        NOT NULL,
    zone               text        NOT NULL,
    address            text,
    latitude           double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude          double precision CHECK (longitude BETWEEN -180 AND 180),
    delivery_radius_km integer     NOT NULL DEFAULT 5 CHECK (delivery_radius_km BETWEEN 0 AND 100),
    min_order_paise    bigint      NOT NULL DEFAULT 0 CHECK (min_order_paise >= 0),
    cashback_bps       integer     NOT NULL DEFAULT 0 CHECK (cashback_bps BETWEEN 0 AND 10000),
    hours              jsonb       NOT NULL DEFAULT '{}',
    is_active          boolean     NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX stores_owner ON stores (owner_id);
CREATE INDEX stores_zone ON stores (zone, city);

CREATE FUNCTION mandi_store_json(s stores) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', s.id, 'owner_id', s.owner_id, 'name', s.name, 'description', s.description,
        'category_id', s.category_id, 'city', s.city, 'zone', s.zone, 'address', s.address,
        'latitude', s.latitude, 'longitude', s.longitude,
        'delivery_radius_km', s.delivery_radius_km, 'min_order_paise', s.min_order_paise,
        'cashback_bps', s.cashback_bps, 'hours', s.hours, 'is_active', s.is_active,
        'created_at', mandi_ts(s.created_at), 'updated_at', mandi_ts(s.updated_at));

-- What full-text search reads of a product: name and SKU weigh most, then
-- tags, then the description. 'simple' keeps words as written (product
-- names mix languages; stemming English would hurt more than help).
CREATE FUNCTION mandi_product_document(name text, sku text, tags text[], description text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN setweight(to_tsvector('simple', coalesce(name, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(sku, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(array_to_string(tags, ' '), '')), 'B')
        || setweight(to_tsvector('simple', coalesce(description, '')), 'C');

CREATE TABLE products (
    id                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    store_id             uuid        NOT NULL REFERENCES stores (id),
    category_id          uuid        NOT NULL REFERENCES categories (id),
    name                 text        NOT NULL,
    description          text,
    sku                  text        NOT NULL,
    tags                 text[]      NOT NULL DEFAULT '{}',
    original_price_paise bigint      NOT NULL CHECK (original_price_paise > 0),
    selling_price_paise  bigint      NOT NULL CHECK (selling_price_paise > 0),
    stock                integer     NOT NULL DEFAULT 0 CHECK (stock >= 0),
    low_stock_threshold  integer     NOT NULL DEFAULT 5 CHECK (low_stock_threshold >= 0),
    min_order_qty        integer     NOT NULL DEFAULT 1 CHECK (min_order_qty >= 1),
    images               jsonb       NOT NULL DEFAULT '[]',
    variants             jsonb       NOT NULL DEFAULT '[]',
    specifications       jsonb       NOT NULL DEFAULT '{}',
    rating_avg           numeric(3, 2) NOT NULL DEFAULT 0,
    rating_count         integer     NOT NULL DEFAULT 0,
    is_active            boolean     NOT NULL DEFAULT true,
    deleted_at           timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    search               tsvector    GENERATED ALWAYS AS
                         (mandi_product_document(name, sku, tags, description)) STORED,
    CHECK (selling_price_paise <= original_price_paise),
    UNIQUE (store_id, sku)
);
CREATE INDEX products_search ON products USING gin (search) WHERE deleted_at IS NULL;
CREATE INDEX products_category ON products (category_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX products_store ON products (store_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX products_price ON products (selling_price_paise) WHERE deleted_at IS NULL;

CREATE FUNCTION mandi_product_json(p products) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', p.id, 'store_id', p.store_id, 'category_id', p.category_id, 'name', p.name,
        'description', p.description, 'sku', p.sku, 'tags', to_jsonb(p.tags),
        'original_price_paise', p.original_price_paise,
        'selling_price_paise', p.selling_price_paise, 'stock', p.stock,
        'in_stock', p.stock > 0, 'low_stock_threshold', p.low_stock_threshold,
        'min_order_qty', p.min_order_qty, 'images', p.images, 'variants', p.variants,
        'specifications', p.specifications,
        'rating', jsonb_build_object('average', p.rating_avg, 'count', p.rating_count),
        'is_active', p.is_active, 'created_at', mandi_ts(p.created_at),
        'updated_at', mandi_ts(p.updated_at));

-- The active categories under parent (NULL: the roots), each with its
-- children, ordered as the apps show them. Category updates refuse cycles,
-- so the recursion ends.
CREATE FUNCTION mandi_category_tree(parent uuid) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT coalesce(jsonb_agg(mandi_category_json(c)
                                  || jsonb_build_object('children', mandi_category_tree(c.id))
                                  ORDER BY c.sort_order, c.name), '[]')
        FROM categories c
        WHERE c.is_active AND c.parent_id IS NOT DISTINCT FROM parent
    $$;
