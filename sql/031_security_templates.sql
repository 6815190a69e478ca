-- Sign-in codes and password resets are worded by templates but sent by
-- the direct jobs notify.send_sms and notify.send_email, never through a
-- domain event: an event reaches analytics, the live stream and partners'
-- webhooks, and the code must reach only its owner. So these two have no
-- rule, and their templates are those of the one channel each uses, filled
-- with {code | token} and {minutes} (how long it works).
DELETE FROM notification_rules WHERE event IN ('otp', 'password_reset');
-- No rule is a security one any more: preferences apply to every event.
ALTER TABLE notification_rules DROP COLUMN security;

DELETE FROM notification_templates
WHERE (event = 'otp' AND channel <> 'sms')
   OR (event = 'password_reset' AND channel <> 'email');

UPDATE notification_templates
SET body = '{{code}} is your mandi sign-in code. It expires in {{minutes}} minutes. ' ||
           'Do not share it with anyone.'
WHERE event = 'otp' AND channel = 'sms' AND language = 'en';

UPDATE notification_templates
SET subject = 'Reset your mandi password',
    body = E'Someone asked to reset the password of your mandi account. If it was you, ' ||
           E'use this token within {{minutes}} minutes:\n\n{{token}}\n\n' ||
           E'If it was not you, ignore this email; your password stays as it is.'
WHERE event = 'password_reset' AND channel = 'email' AND language = 'en';

INSERT INTO notification_templates (event, channel, language, subject, body) VALUES
    ('otp', 'sms', 'hi', '',
     '{{code}} आपका mandi साइन-इन कोड है। यह {{minutes}} मिनट में समाप्त हो जाएगा। ' ||
     'इसे किसी से साझा न करें।'),
    ('password_reset', 'email', 'hi', 'अपना mandi पासवर्ड बदलें',
     E'आपके mandi खाते का पासवर्ड बदलने का अनुरोध किया गया है। अगर यह आप थे, तो ' ||
     E'{{minutes}} मिनट के भीतर यह टोकन इस्तेमाल करें:\n\n{{token}}\n\n' ||
     E'अगर यह आप नहीं थे, तो इस ईमेल को अनदेखा करें; आपका पासवर्ड नहीं बदलेगा।');
