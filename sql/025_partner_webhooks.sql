-- Outbound webhooks for partners: a partner's URL receives the domain
-- events it subscribed to (topic prefixes), each delivery signed with the
-- webhook's secret and retried with back-off, with a log of every attempt.
-- A delivery is one per (webhook, event), so an event reaches a partner
-- once however often the notifications pool meets it.

CREATE TABLE partner_webhooks (
    id          uuid        PRIMARY KEY,
    url         text        NOT NULL,
    events      text[]      NOT NULL,          -- topic prefixes, e.g. {order.,refund.processed}
    secret      text        NOT NULL,          -- HMAC-SHA256 key of the signatures
    description text,
    active      boolean     NOT NULL DEFAULT true,
    -- The newest event when it was made: only later events are sent.
    from_position bigint    NOT NULL DEFAULT 0,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);

CREATE TABLE partner_webhook_deliveries (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id   uuid        NOT NULL REFERENCES partner_webhooks (id),
    event_ref    uuid        NOT NULL,          -- the consumer's stable id of the event
    topic        text        NOT NULL,
    body         text        NOT NULL,          -- the JSON sent, the same on every attempt
    status       text        NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts     integer     NOT NULL DEFAULT 0,
    last_status  integer,                       -- the partner's HTTP status; NULL: no answer
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    UNIQUE (webhook_id, event_ref)
);
CREATE INDEX partner_webhook_deliveries_hook ON partner_webhook_deliveries (webhook_id, created_at DESC);

CREATE FUNCTION mandi_partner_webhook_json(w partner_webhooks) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'id', w.id, 'url', w.url, 'events', to_jsonb(w.events), 'description', w.description,
        'active', w.active, 'created_at', mandi_ts(w.created_at));

CREATE FUNCTION mandi_partner_delivery_json(d partner_webhook_deliveries) RETURNS jsonb
    LANGUAGE sql STABLE
    RETURN jsonb_build_object(
        'id', d.id, 'webhook_id', d.webhook_id, 'event_id', d.event_ref, 'topic', d.topic,
        'status', d.status, 'attempts', d.attempts, 'last_status', d.last_status,
        'last_error', d.last_error, 'created_at', mandi_ts(d.created_at),
        'delivered_at', mandi_ts(d.delivered_at));
