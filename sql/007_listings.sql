-- Listings: users selling their own items, as in a classifieds marketplace.
-- A listing waits for a moderator (PENDING_REVIEW) before anyone else sees
-- it, shows while ACTIVE until its expiry date, and can be boosted to the
-- top of the list for a few days by buying a boost plan. Prices are integer
-- paise (INR).
--
-- Lapsing is by time: an ACTIVE listing past expires_at and an active boost
-- past ends_at count as expired and lapsed in every read
-- (mandi_listing_status, mandi_listing_boost_status), whether or not the
-- listing.expire job has yet written that down.

CREATE TABLE listings (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id         uuid        NOT NULL CONSTRAINT listings_owner_fk REFERENCES users (id),
    -- Optional; deleting a category leaves its listings without one.
    category_id      uuid        CONSTRAINT listings_category_fk REFERENCES categories (id)
                                 ON DELETE SET NULL,
    title            text        NOT NULL CHECK (char_length(title) BETWEEN 3 AND 120),
    description      text        CHECK (char_length(description) BETWEEN 1 AND 5000),
    price_paise      bigint      NOT NULL CHECK (price_paise > 0),
    condition        text        NOT NULL CHECK (condition IN ('new', 'like_new', 'good', 'fair')),
    images           jsonb       NOT NULL DEFAULT '[]'
                     CHECK (jsonb_typeof(images) = 'array' AND jsonb_array_length(images) <= 10),
    city             text        NOT NULL CHECK (char_length(city) BETWEEN 1 AND 100),
    zone             text        CHECK (zone ~ '^[A-Za-z0-9_-]{1,24}$'),
    status           text        NOT NULL DEFAULT 'PENDING_REVIEW'
                     CHECK (status IN ('PENDING_REVIEW', 'ACTIVE', 'REJECTED', 'SOLD', 'EXPIRED',
                                       'DELETED')),
    rejection_reason text        CHECK (char_length(rejection_reason) BETWEEN 1 AND 500),
    reviewed_by      uuid        CONSTRAINT listings_reviewer_fk REFERENCES users (id),
    reviewed_at      timestamptz,
    expires_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- An ACTIVE listing always has a date to expire on; a REJECTED one
    -- always says why.
    CHECK (status <> 'ACTIVE' OR expires_at IS NOT NULL),
    CHECK (status <> 'REJECTED' OR rejection_reason IS NOT NULL),
    CHECK ((reviewed_by IS NULL) = (reviewed_at IS NULL))
);
-- The public list: ACTIVE listings, newest first, narrowed by category,
-- place or price.
CREATE INDEX listings_active ON listings (created_at DESC) WHERE status = 'ACTIVE';
CREATE INDEX listings_active_category ON listings (category_id, created_at DESC)
    WHERE status = 'ACTIVE';
CREATE INDEX listings_active_city ON listings (lower(city), zone) WHERE status = 'ACTIVE';
CREATE INDEX listings_active_price ON listings (price_paise) WHERE status = 'ACTIVE';
-- The expiry job's scan.
CREATE INDEX listings_active_expiry ON listings (expires_at) WHERE status = 'ACTIVE';
-- The owner's own list, every status.
CREATE INDEX listings_owner ON listings (owner_id, created_at DESC);
-- The review queue.
CREATE INDEX listings_pending ON listings (created_at) WHERE status = 'PENDING_REVIEW';

CREATE TABLE listing_boost_plans (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text        NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100),
    price_paise   bigint      NOT NULL CHECK (price_paise > 0),
    duration_days integer     NOT NULL CHECK (duration_days BETWEEN 1 AND 365),
    is_active     boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

INSERT INTO listing_boost_plans (name, price_paise, duration_days) VALUES
    ('Boost 3 days', 4900, 3),
    ('Boost 7 days', 9900, 7),
    ('Boost 30 days', 29900, 30);

-- A boost bought for a listing. It is made pending_payment with the plan's
-- price and duration copied (a later change of the plan does not change
-- what was bought); the payments pool makes it active, with starts_at and
-- ends_at, once the payment is captured.
CREATE TABLE listing_boosts (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    listing_id    uuid        NOT NULL REFERENCES listings (id),
    plan_id       uuid        NOT NULL REFERENCES listing_boost_plans (id),
    user_id       uuid        NOT NULL CONSTRAINT listing_boosts_user_fk REFERENCES users (id),
    status        text        NOT NULL DEFAULT 'pending_payment'
                  CHECK (status IN ('pending_payment', 'active', 'lapsed', 'cancelled')),
    amount_paise  bigint      NOT NULL CHECK (amount_paise > 0),
    duration_days integer     NOT NULL CHECK (duration_days BETWEEN 1 AND 365),
    starts_at     timestamptz,
    ends_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (status NOT IN ('active', 'lapsed') OR (starts_at IS NOT NULL AND ends_at IS NOT NULL)),
    CHECK (ends_at IS NULL OR ends_at > starts_at)
);
-- Which listings are boosted now (the list's order), and the expiry job's scan.
CREATE INDEX listing_boosts_active ON listing_boosts (listing_id, ends_at) WHERE status = 'active';
CREATE INDEX listing_boosts_active_end ON listing_boosts (ends_at) WHERE status = 'active';
-- At most one boost waits for payment per listing: asking again replaces it.
CREATE UNIQUE INDEX listing_boosts_one_pending ON listing_boosts (listing_id)
    WHERE status = 'pending_payment';

-- The status a reader sees: ACTIVE past its expiry date is EXPIRED.
CREATE FUNCTION mandi_listing_status(l listings) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE WHEN l.status = 'ACTIVE' AND l.expires_at <= now() THEN 'EXPIRED'
                ELSE l.status END;

-- The end of the listing's boost running now, or NULL when none runs.
CREATE FUNCTION mandi_listing_boosted_until(listing uuid) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (SELECT max(b.ends_at) FROM listing_boosts b
            WHERE b.listing_id = listing AND b.status = 'active' AND b.ends_at > now());

CREATE FUNCTION mandi_listing_json(l listings) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', l.id, 'owner_id', l.owner_id, 'category_id', l.category_id, 'title', l.title,
        'description', l.description, 'price_paise', l.price_paise, 'currency', 'INR',
        'condition', l.condition, 'images', l.images, 'city', l.city, 'zone', l.zone,
        'status', mandi_listing_status(l), 'rejection_reason', l.rejection_reason,
        'reviewed_by', l.reviewed_by, 'reviewed_at', mandi_ts(l.reviewed_at),
        'expires_at', mandi_ts(l.expires_at),
        'boosted_until', mandi_ts(mandi_listing_boosted_until(l.id)),
        'created_at', mandi_ts(l.created_at), 'updated_at', mandi_ts(l.updated_at));

CREATE FUNCTION mandi_listing_boost_plan_json(p listing_boost_plans) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', p.id, 'name', p.name, 'price_paise', p.price_paise, 'currency', 'INR',
        'duration_days', p.duration_days);

-- The status a reader sees: active past its end is lapsed.
CREATE FUNCTION mandi_listing_boost_status(b listing_boosts) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE WHEN b.status = 'active' AND b.ends_at <= now() THEN 'lapsed'
                ELSE b.status END;

CREATE FUNCTION mandi_listing_boost_json(b listing_boosts) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', b.id, 'listing_id', b.listing_id, 'plan_id', b.plan_id, 'user_id', b.user_id,
        'status', mandi_listing_boost_status(b), 'amount_paise', b.amount_paise,
        'currency', 'INR', 'duration_days', b.duration_days,
        'starts_at', mandi_ts(b.starts_at), 'ends_at', mandi_ts(b.ends_at),
        'created_at', mandi_ts(b.created_at), 'updated_at', mandi_ts(b.updated_at));
