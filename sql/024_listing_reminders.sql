-- Reminders to listing owners that an ACTIVE listing expires within three
-- days (listing.remind_expiring, run daily by the scheduler): one per
-- expiry, recorded as the event listing.expiring for the notifications pool.

ALTER TABLE listings ADD COLUMN expiry_reminded_at timestamptz;

INSERT INTO schedules (name, cron, service, job_type, body, description) VALUES
    ('listing-expiry-reminders', '0 9 * * *', 'catalog', 'listing.remind_expiring', '{}',
     'tells owners of listings expiring within three days, once per expiry');
