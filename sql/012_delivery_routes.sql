-- Delivery routes: a driver's run through one zone on one day, and the
-- orders it carries, in the order of its stops. An order rides on at most
-- one route (delivery_route_orders_order_once); a route's orders are of its
-- zone, which is why its zone is fixed while it holds any.

CREATE TABLE delivery_routes (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    zone         text        NOT NULL,
    driver_name  text        NOT NULL,
    driver_phone text,                         -- +91 and 10 digits
    route_date   date        NOT NULL,
    notes        text,
    created_by   uuid        NOT NULL,         -- the staff member's id, from the token
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_routes_zone ON delivery_routes (zone, route_date DESC, created_at DESC);
CREATE INDEX delivery_routes_date ON delivery_routes (route_date DESC, created_at DESC);

CREATE TABLE delivery_route_orders (
    route_id    uuid        NOT NULL REFERENCES delivery_routes (id),
    order_id    uuid        NOT NULL REFERENCES orders (id),
    stop        integer     NOT NULL CHECK (stop > 0),  -- 1 for the first delivery
    assigned_by uuid        NOT NULL,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (route_id, order_id),
    CONSTRAINT delivery_route_orders_order_once UNIQUE (order_id),
    -- Checked at commit: a new list renumbers the stops row by row.
    CONSTRAINT delivery_route_orders_stop_once UNIQUE (route_id, stop) DEFERRABLE INITIALLY DEFERRED
);

-- A route's own fields (what the audit log keeps of it).
CREATE FUNCTION mandi_delivery_route_fields_json(r delivery_routes) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', r.id, 'zone', r.zone, 'driver_name', r.driver_name,
        'driver_phone', r.driver_phone, 'route_date', r.route_date, 'notes', r.notes,
        'created_by', r.created_by, 'created_at', mandi_ts(r.created_at),
        'updated_at', mandi_ts(r.updated_at));

-- A route with its orders in stop order (what a driver needs of each) and
-- their count.
CREATE FUNCTION mandi_delivery_route_json(r delivery_routes) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN mandi_delivery_route_fields_json(r) || (
        SELECT jsonb_build_object(
            'order_count', count(*),
            'orders', coalesce(jsonb_agg(jsonb_build_object(
                'id', o.id, 'number', o.number, 'status', o.status, 'store_id', o.store_id,
                'total_paise', o.total_paise, 'address', o.address, 'stop', a.stop,
                'assigned_at', mandi_ts(a.assigned_at)) ORDER BY a.stop), '[]'))
        FROM delivery_route_orders a JOIN orders o ON o.id = a.order_id
        WHERE a.route_id = r.id);
