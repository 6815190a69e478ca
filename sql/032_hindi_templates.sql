-- Hindi words for the events that had only English ones, on every channel
-- (the SMS text is the short one), so a user whose language is hi reads
-- each message of the rules in it.
INSERT INTO notification_templates (event, channel, language, subject, body)
SELECT t.event, c.channel, 'hi', t.subject, CASE WHEN c.channel = 'sms' THEN t.sms ELSE t.body END
FROM (VALUES
    ('order.delivered', 'ऑर्डर {{number}} पहुँच गया',
     'आपका ऑर्डर {{number}} पहुँचा दिया गया है। आनंद लें!',
     'mandi: ऑर्डर {{number}} पहुँच गया।'),
    ('payment.received', 'भुगतान मिला',
     'हमें आपका {{amount_paise|rupees}} का भुगतान मिल गया है।',
     'mandi: {{amount_paise|rupees}} का भुगतान मिला।'),
    ('refund.processed', 'रिफ़ंड हो गया',
     'आपका {{amount_paise|rupees}} का रिफ़ंड कर दिया गया है।',
     'mandi: {{amount_paise|rupees}} का रिफ़ंड हो गया।'),
    ('payout.processed', 'पेआउट भेजा गया',
     'आपका {{amount_paise|rupees}} का पेआउट आपके खाते में भेज दिया गया है।',
     'mandi: {{amount_paise|rupees}} का पेआउट भेजा गया।'),
    ('stock.low', 'स्टॉक कम है',
     'उत्पाद {{product_id}} का स्टॉक घटकर {{after}} रह गया है।',
     'mandi: उत्पाद {{product_id}} का स्टॉक {{after}} बचा।'),
    ('back_in_stock', '{{product_name}} फिर से उपलब्ध',
     '{{product_name}} फिर से स्टॉक में है।',
     'mandi: {{product_name}} फिर से स्टॉक में है।'),
    ('listing.expiring', 'आपकी लिस्टिंग जल्द समाप्त होगी',
     'आपकी लिस्टिंग "{{title}}" {{expires_at}} को समाप्त हो रही है। इसे दिखाते रहने के लिए '
     'नवीनीकरण करें।',
     'mandi: आपकी लिस्टिंग "{{title}}" {{expires_at}} को समाप्त होगी।')
) AS t(event, subject, body, sms)
CROSS JOIN (VALUES ('in_app'), ('sms'), ('email'), ('push')) AS c(channel);
