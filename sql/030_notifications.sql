-- Notifications: what each domain event tells whom on which channel
-- (notification_rules), in which words per language (notification_templates),
-- the in-app inbox (notifications), the devices push goes to
-- (device_tokens), every message handed to a provider (notification_deliveries,
-- once per event, user and channel) and announcements.

-- Which events notify whom. An event of topic matches a rule when the
-- rule's match_key is NULL or the event body's member match_key equals
-- match_value (order.status_changed carries the order's new status). The
-- recipient is the user whose id is the body's member recipient_key.
-- Security rules (OTP, password reset) ignore the user's preferences.
CREATE TABLE notification_rules (
    event         text    PRIMARY KEY,          -- the template's name
    topic         text    NOT NULL,
    match_key     text,
    match_value   text,
    recipient_key text    NOT NULL,
    category      text    NOT NULL
                  CHECK (category IN ('order', 'earning', 'general', 'promotional')),
    channels      text[]  NOT NULL,
    security      boolean NOT NULL DEFAULT false,
    CHECK (channels <@ ARRAY['in_app', 'sms', 'email', 'push']),
    CHECK ((match_key IS NULL) = (match_value IS NULL))
);
CREATE INDEX notification_rules_topic ON notification_rules (topic);

INSERT INTO notification_rules (event, topic, match_key, match_value, recipient_key, category,
                                channels, security) VALUES
    ('order.confirmed', 'order.status_changed', 'status', 'CONFIRMED', 'user_id', 'order',
     '{in_app,push,sms,email}', false),
    ('order.shipped', 'order.status_changed', 'status', 'SHIPPED', 'user_id', 'order',
     '{in_app,push,sms}', false),
    ('order.delivered', 'order.status_changed', 'status', 'DELIVERED', 'user_id', 'order',
     '{in_app,push,email}', false),
    ('payment.received', 'payment.captured', NULL, NULL, 'user_id', 'order',
     '{in_app,push,email}', false),
    ('refund.processed', 'refund.processed', NULL, NULL, 'user_id', 'order',
     '{in_app,push,sms,email}', false),
    ('payout.processed', 'payout.processed', NULL, NULL, 'user_id', 'earning',
     '{in_app,push,sms}', false),
    ('stock.low', 'stock.low', NULL, NULL, 'owner_id', 'general', '{in_app,email}', false),
    ('back_in_stock', 'notify.back_in_stock', NULL, NULL, 'user_id', 'promotional',
     '{in_app,push,email}', false),
    ('listing.expiring', 'listing.expiring', NULL, NULL, 'user_id', 'general',
     '{in_app,push,email}', false),
    ('otp', 'notify.otp', NULL, NULL, 'user_id', 'general', '{sms}', true),
    ('password_reset', 'notify.password_reset', NULL, NULL, 'user_id', 'general', '{email}',
     true);

-- The words of each event per channel and language; "{{member}}" takes the
-- event body's member (dotted for nested ones), "{{member|rupees}}" shows
-- paise as rupees (notify_template.c). The subject is the email subject and
-- the title of a push or in-app message. A language without its own row
-- falls back to 'en'.
CREATE TABLE notification_templates (
    event    text NOT NULL,
    channel  text NOT NULL CHECK (channel IN ('in_app', 'sms', 'email', 'push')),
    language text NOT NULL,
    subject  text NOT NULL DEFAULT '',
    body     text NOT NULL,
    PRIMARY KEY (event, channel, language)
);

INSERT INTO notification_templates (event, channel, language, subject, body)
SELECT t.event, c.channel, t.language, t.subject,
       CASE WHEN c.channel = 'sms' THEN t.sms ELSE t.body END
FROM (VALUES
    ('order.confirmed', 'en', 'Order {{number}} confirmed',
     'Your order {{number}} of {{total_paise|rupees}} is confirmed.',
     'mandi: order {{number}} ({{total_paise|rupees}}) confirmed.'),
    ('order.confirmed', 'hi', 'ऑर्डर {{number}} की पुष्टि हुई',
     'आपका ऑर्डर {{number}} ({{total_paise|rupees}}) पक्का हो गया है।',
     'mandi: ऑर्डर {{number}} ({{total_paise|rupees}}) पक्का।'),
    ('order.shipped', 'en', 'Order {{number}} shipped', 'Your order {{number}} is on its way.',
     'mandi: order {{number}} shipped.'),
    ('order.shipped', 'hi', 'ऑर्डर {{number}} भेजा गया', 'आपका ऑर्डर {{number}} रास्ते में है।',
     'mandi: ऑर्डर {{number}} भेजा गया।'),
    ('order.delivered', 'en', 'Order {{number}} delivered',
     'Your order {{number}} has been delivered. Enjoy!', 'mandi: order {{number}} delivered.'),
    ('payment.received', 'en', 'Payment received',
     'We received your payment of {{amount_paise|rupees}}.',
     'mandi: payment of {{amount_paise|rupees}} received.'),
    ('refund.processed', 'en', 'Refund processed',
     'Your refund of {{amount_paise|rupees}} has been processed.',
     'mandi: refund of {{amount_paise|rupees}} processed.'),
    ('payout.processed', 'en', 'Payout sent',
     'Your payout of {{amount_paise|rupees}} has been sent to your account.',
     'mandi: payout of {{amount_paise|rupees}} sent.'),
    ('stock.low', 'en', 'Low stock', 'Product {{product_id}} is down to {{after}} in stock.',
     'mandi: product {{product_id}} down to {{after}}.'),
    ('back_in_stock', 'en', '{{product_name}} is back', '{{product_name}} is back in stock.',
     'mandi: {{product_name}} is back in stock.'),
    ('listing.expiring', 'en', 'Your listing expires soon',
     'Your listing "{{title}}" expires on {{expires_at}}. Renew it to keep it on show.',
     'mandi: your listing "{{title}}" expires on {{expires_at}}.'),
    ('otp', 'en', 'Your code', 'Your mandi code is {{code}}. It expires in 5 minutes.',
     'Your mandi code is {{code}}. It expires in 5 minutes.'),
    ('password_reset', 'en', 'Reset your mandi password',
     'Use this token to reset your password: {{token}}', 'mandi reset token: {{token}}'),
    ('admin.message', 'en', '{{title}}', '{{body}}', '{{body}}')
) AS t(event, language, subject, body, sms)
CROSS JOIN (VALUES ('in_app'), ('sms'), ('email'), ('push')) AS c(channel);

-- The in-app inbox. ref is the event's identity (the consumer's job id, or
-- an admin send's job id): one row per event and user.
CREATE TABLE notifications (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES users (id),
    ref        text        NOT NULL,
    event      text        NOT NULL,
    category   text        NOT NULL
               CHECK (category IN ('order', 'earning', 'general', 'promotional')),
    title      text        NOT NULL,
    body       text        NOT NULL,
    data       jsonb       NOT NULL DEFAULT '{}',
    read_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ref, user_id)
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

CREATE FUNCTION mandi_notification_json(n notifications) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', n.id, 'event', n.event, 'category', n.category, 'title', n.title,
        'body', n.body, 'data', n.data, 'read', n.read_at IS NOT NULL,
        'read_at', mandi_ts(n.read_at), 'created_at', mandi_ts(n.created_at));

-- A device's push token belongs to the user who registered it last.
CREATE TABLE device_tokens (
    token      text        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id),
    platform   text        NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_tokens_user ON device_tokens (user_id);

-- Every message for a provider. The unique key is what makes a message go
-- at most once per (event, user, channel), whatever redelivers the event.
-- held: promotional, waiting for the end of quiet hours; skipped: a push
-- whose user has no valid device left; dead: the provider refused it (4xx)
-- or its last attempt failed, listed for an admin to retry.
CREATE TABLE notification_deliveries (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    ref           text        NOT NULL,
    user_id       uuid        NOT NULL REFERENCES users (id),
    channel       text        NOT NULL CHECK (channel IN ('sms', 'email', 'push')),
    event         text        NOT NULL,
    recipient     text        NOT NULL,            -- phone or email; push: the user's devices
    subject       text        NOT NULL DEFAULT '',
    body          text        NOT NULL,
    data          jsonb       NOT NULL DEFAULT '{}',
    status        text        NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'held', 'sent', 'skipped', 'dead')),
    provider      text,
    provider_id   text,
    attempts      int         NOT NULL DEFAULT 0,
    last_status   int,
    last_error    text,
    job_id        uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    UNIQUE (ref, user_id, channel)
);
CREATE INDEX notification_deliveries_dead ON notification_deliveries (updated_at DESC)
    WHERE status = 'dead';

CREATE FUNCTION mandi_delivery_json(d notification_deliveries) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', d.id, 'ref', d.ref, 'user_id', d.user_id, 'channel', d.channel,
        'event', d.event, 'recipient', d.recipient, 'subject', d.subject, 'status', d.status,
        'provider', d.provider, 'provider_id', d.provider_id, 'attempts', d.attempts,
        'last_status', d.last_status, 'last_error', d.last_error, 'job_id', d.job_id,
        'created_at', mandi_ts(d.created_at), 'updated_at', mandi_ts(d.updated_at),
        'sent_at', mandi_ts(d.sent_at));

-- When quiet hours (India time, from qstart to qend, over midnight when
-- qstart > qend) hold at `at`, the instant they end; else NULL.
CREATE FUNCTION mandi_quiet_until(at timestamptz, qstart time, qend time) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN qstart = qend THEN NULL
        WHEN qstart < qend AND l::time >= qstart AND l::time < qend
            THEN (l::date + qend) AT TIME ZONE 'Asia/Kolkata'
        WHEN qstart > qend AND l::time >= qstart
            THEN (l::date + 1 + qend) AT TIME ZONE 'Asia/Kolkata'
        WHEN qstart > qend AND l::time < qend
            THEN (l::date + qend) AT TIME ZONE 'Asia/Kolkata'
    END
    FROM (SELECT at AT TIME ZONE 'Asia/Kolkata') AS t(l)
    $$;

-- Announcements: shown to every user, or to those of one zone.
CREATE TABLE announcements (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    title      text        NOT NULL,
    body       text        NOT NULL,
    zone       text,
    created_by text        NOT NULL,            -- the admin's user id, as the token says
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX announcements_created ON announcements (created_at DESC);

CREATE FUNCTION mandi_announcement_json(a announcements) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', a.id, 'title', a.title, 'body', a.body, 'zone', a.zone,
        'created_by', a.created_by, 'created_at', mandi_ts(a.created_at));
