-- The owner of a listing hears that its boost has started (the payments
-- pool's listing.boosted, on capture), in the inbox and by push, in
-- English or Hindi like every other rule.

INSERT INTO notification_rules (event, topic, match_key, match_value, recipient_key, category,
                                channels)
VALUES ('listing.boosted', 'listing.boosted', NULL, NULL, 'user_id', 'general',
        '{in_app,push}');

INSERT INTO notification_templates (event, channel, language, subject, body)
SELECT 'listing.boosted', c.channel, t.language, t.subject, t.body
FROM (VALUES
    ('en', 'Your listing is boosted',
     'Your listing "{{title}}" is boosted for {{boost.duration_days}} days and shows first '
     'in the list.'),
    ('hi', 'आपकी लिस्टिंग बूस्ट हो गई',
     'आपकी लिस्टिंग "{{title}}" {{boost.duration_days}} दिनों के लिए बूस्ट हो गई है और सूची '
     'में सबसे ऊपर दिखेगी।')
) AS t(language, subject, body)
CROSS JOIN (VALUES ('in_app'), ('push')) AS c(channel);
