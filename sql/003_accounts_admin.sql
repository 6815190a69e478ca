-- Accounts, second part: what addresses, KYC review, the admin user list and
-- the audit log read need beyond the tables of 002.

-- Where a delivery goes, for the distance checks of catalog and orders.
ALTER TABLE addresses
    ADD COLUMN latitude  double precision CHECK (latitude BETWEEN -90 AND 90),
    ADD COLUMN longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    ADD CHECK ((latitude IS NULL) = (longitude IS NULL));

CREATE OR REPLACE FUNCTION mandi_address_json(a addresses) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', a.id, 'label', a.label, 'name', a.name, 'phone', a.phone,
        'line1', a.line1, 'line2', a.line2, 'landmark', a.landmark, 'city', a.city,
        'state', a.state, 'pincode', a.pincode, 'latitude', a.latitude,
        'longitude', a.longitude, 'is_default', a.is_default,
        'created_at', mandi_ts(a.created_at), 'updated_at', mandi_ts(a.updated_at));

-- The "pagination" object of every list answer.
CREATE FUNCTION mandi_pagination(page bigint, lim bigint, total bigint) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN jsonb_build_object('page', page, 'limit', lim, 'total', total,
                              'pages', (total + lim - 1) / lim);

-- A KYC submission. Its owner sees the document number masked to its last
-- four characters; reviewers see all of it.
CREATE FUNCTION mandi_kyc_json(k kyc_submissions, reviewer boolean) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', k.id, 'user_id', k.user_id, 'document_type', k.document_type,
        'document_number', CASE WHEN reviewer THEN k.document_number
                                ELSE repeat('X', greatest(length(k.document_number) - 4, 0))
                                     || right(k.document_number, 4) END,
        'full_name', k.full_name, 'date_of_birth', k.date_of_birth, 'status', k.status,
        'reason', k.reason, 'reviewed_by', k.reviewed_by,
        'reviewed_at', mandi_ts(k.reviewed_at), 'created_at', mandi_ts(k.created_at));

CREATE FUNCTION mandi_audit_json(a audit_log) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', a.id, 'actor_id', a.actor_id, 'actor_role', a.actor_role, 'action', a.action,
        'target_type', a.target_type, 'target_id', a.target_id, 'before', a.before,
        'after', a.after, 'request_id', a.request_id, 'created_at', mandi_ts(a.created_at));

CREATE INDEX users_created ON users (created_at DESC, id DESC);
CREATE INDEX audit_log_action ON audit_log (action, created_at DESC);
