-- Analytics: the events the apps send and the domain events of every pool,
-- in one table; the figures of each India day, stored by the daily
-- snapshot; and the definitions of those figures as functions, so that the
-- dashboard, the reports and the snapshot cannot disagree about them
-- (docs/API.md section 13).

CREATE TABLE analytics_events (
    id          bigserial   PRIMARY KEY,
    source      text        NOT NULL CHECK (source IN ('app', 'domain')),
    -- Unique per event, so that a delivery repeated is recorded once: an
    -- app event's is its ingestion job's id and its index in the batch, a
    -- domain event's the consumer's id for (consumer, event position).
    event_key   text        NOT NULL UNIQUE,
    name        text        NOT NULL,
    -- Text, not a reference to users: a token's subject is taken as given,
    -- and an event outlives the user it names.
    user_id     text,
    device_id   text,
    session_id  text,
    zone        text,
    properties  jsonb       NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analytics_events_time ON analytics_events (occurred_at);
CREATE INDEX analytics_events_zone ON analytics_events (zone, occurred_at);
CREATE INDEX analytics_events_name ON analytics_events (name, occurred_at);

-- The figures of one India day for one zone, '*' standing for all zones
-- together (not the sum of the zones' rows: a user active in two zones is
-- one user). Written again whole each time the day's snapshot runs.
CREATE TABLE analytics_daily (
    day              date        NOT NULL,
    zone             text        NOT NULL,
    orders           bigint      NOT NULL,
    revenue_orders   bigint      NOT NULL,
    cancelled_orders bigint      NOT NULL,
    revenue_paise    bigint      NOT NULL,
    active_users     bigint      NOT NULL,
    new_users        bigint      NOT NULL,
    sessions         bigint      NOT NULL,
    product_views    bigint      NOT NULL,
    computed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, zone)
);

-- An order brings revenue once confirmed (paid, or cash on delivery) and
-- until cancelled: PENDING is a razorpay order not yet paid.
CREATE FUNCTION mandi_revenue_status(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN status IN ('CONFIRMED', 'PROCESSING', 'SHIPPED', 'DELIVERED');

-- The zones a caller's figures cover: NULL for all of them (an admin who
-- named no zone), else the zone asked for if the caller reaches it, else
-- the caller's zones. A LOCATION_ADMIN naming a zone not its own gets an
-- empty list, so zeros, not an error that would tell which zones exist.
CREATE FUNCTION mandi_analytics_zones(role text, zones text, zone text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN role IN ('ADMIN', 'SUPER_ADMIN') AND zone IS NULL THEN NULL
        WHEN role IN ('ADMIN', 'SUPER_ADMIN') THEN ARRAY[zone]
        WHEN zone IS NULL THEN string_to_array(zones, ',')
        WHEN zone = ANY (string_to_array(zones, ',')) THEN ARRAY[zone]
        ELSE '{}'::text[] END;

-- The headline figures of [t0, t1) within in_zones (NULL: everywhere; not
-- named zones, which users.zones would shadow):
--   orders            orders placed (any status)
--   revenue_orders    of those, orders that bring revenue (above)
--   cancelled_orders  of those, orders cancelled
--   revenue_paise     sum of total_paise of the revenue orders
--   average_order_value_paise  revenue_paise / revenue_orders, rounded down (0 if none)
--   active_users      distinct users who placed an order or sent an event
--   new_users         users created; within zones, users whose zones meet them
--   sessions          distinct session_id of app events
--   product_views     app events named product_view
--   conversion_bps    orders * 10000 / sessions, rounded down (NULL if no session)
CREATE FUNCTION mandi_analytics_figures(t0 timestamptz, t1 timestamptz, in_zones text[])
    RETURNS jsonb LANGUAGE sql STABLE AS $$
WITH o AS (
    SELECT o.user_id::text AS user_id, o.status, o.total_paise FROM orders o
    WHERE o.created_at >= t0 AND o.created_at < t1
      AND (in_zones IS NULL OR o.zone = ANY (in_zones))),
e AS (
    SELECT e.source, e.name, e.user_id, e.session_id FROM analytics_events e
    WHERE e.occurred_at >= t0 AND e.occurred_at < t1
      AND (in_zones IS NULL OR e.zone = ANY (in_zones))),
f AS (
    SELECT (SELECT count(*) FROM o) AS orders,
           (SELECT count(*) FROM o WHERE mandi_revenue_status(o.status)) AS revenue_orders,
           (SELECT count(*) FROM o WHERE o.status = 'CANCELLED') AS cancelled_orders,
           (SELECT coalesce(sum(o.total_paise), 0) FROM o
             WHERE mandi_revenue_status(o.status))::bigint AS revenue_paise,
           (SELECT count(*) FROM (SELECT o.user_id FROM o UNION
                                  SELECT e.user_id FROM e WHERE e.user_id IS NOT NULL) a)
               AS active_users,
           (SELECT count(*) FROM users u WHERE u.created_at >= t0 AND u.created_at < t1
              AND (in_zones IS NULL OR u.zones && in_zones)) AS new_users,
           (SELECT count(DISTINCT e.session_id) FROM e WHERE e.source = 'app') AS sessions,
           (SELECT count(*) FROM e WHERE e.source = 'app' AND e.name = 'product_view')
               AS product_views)
SELECT jsonb_build_object(
    'orders', orders, 'revenue_orders', revenue_orders, 'cancelled_orders', cancelled_orders,
    'revenue_paise', revenue_paise,
    'average_order_value_paise', CASE WHEN revenue_orders > 0 THEN revenue_paise / revenue_orders
                                      ELSE 0 END,
    'active_users', active_users, 'new_users', new_users, 'sessions', sessions,
    'product_views', product_views,
    'conversion_bps', CASE WHEN sessions > 0 THEN orders * 10000 / sessions END)
FROM f
$$;

-- An India day as the instants [start, end).
CREATE FUNCTION mandi_india_start(d date) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN d::timestamp AT TIME ZONE 'Asia/Kolkata';

CREATE FUNCTION mandi_analytics_daily_json(d analytics_daily) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'day', d.day, 'zone', d.zone, 'orders', d.orders, 'revenue_orders', d.revenue_orders,
        'cancelled_orders', d.cancelled_orders, 'revenue_paise', d.revenue_paise,
        'active_users', d.active_users, 'new_users', d.new_users, 'sessions', d.sessions,
        'product_views', d.product_views, 'computed_at', mandi_ts(d.computed_at));

INSERT INTO schedules (name, cron, service, job_type, body, description) VALUES
    ('analytics-snapshot', '5 0 * * *', 'analytics', 'analytics.snapshot',
     '{"day": "{{yesterday}}"}',
     'stores yesterday''s figures (orders, revenue, users, sessions) per zone in analytics_daily');
