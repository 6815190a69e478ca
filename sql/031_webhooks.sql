-- Outbound partner webhooks: a partner's URL receives the domain events
-- whose topic starts with one of its prefixes, each POSTed signed with the
-- webhook's secret, retried like a notification, and logged.

CREATE TABLE webhooks (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    url        text        NOT NULL CHECK (url ~ '^https?://'),
    events     text[]      NOT NULL CHECK (cardinality(events) > 0), -- topic prefixes
    secret     text        NOT NULL,           -- HMAC-SHA256 key of the signatures
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

-- One row per (webhook, event): the log, and what makes a partner get an
-- event once however often it is applied.
CREATE TABLE webhook_deliveries (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id  uuid        NOT NULL REFERENCES webhooks (id),
    ref         text        NOT NULL,
    topic       text        NOT NULL,
    payload     jsonb       NOT NULL,
    status      text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'dead')),
    attempts    int         NOT NULL DEFAULT 0,
    last_status int,
    last_error  text,
    job_id      uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    UNIQUE (webhook_id, ref)
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at DESC);

-- The secret is shown once, when the webhook is made.
CREATE FUNCTION mandi_webhook_json(w webhooks) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', w.id, 'url', w.url, 'events', to_jsonb(w.events), 'created_by', w.created_by,
        'created_at', mandi_ts(w.created_at));

CREATE FUNCTION mandi_webhook_delivery_json(d webhook_deliveries) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', d.id, 'webhook_id', d.webhook_id, 'topic', d.topic, 'status', d.status,
        'attempts', d.attempts, 'last_status', d.last_status, 'last_error', d.last_error,
        'job_id', d.job_id, 'created_at', mandi_ts(d.created_at),
        'updated_at', mandi_ts(d.updated_at), 'sent_at', mandi_ts(d.sent_at));
