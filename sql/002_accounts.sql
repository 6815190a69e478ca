-- Accounts: users, their sessions (refresh-token families), addresses, KYC
-- submissions and the audit log of admin actions.

-- Timestamps in answers: UTC with milliseconds, the format of the jobs API.
CREATE FUNCTION mandi_ts(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    phone         text        UNIQUE,     -- E.164, +91 and 10 digits
    email         text        UNIQUE,     -- lower case
    name          text,
    password_hash text,                   -- argon2id (libsodium crypto_pwhash_str)
    role          text        NOT NULL DEFAULT 'USER'
                  CHECK (role IN ('USER', 'MERCHANT', 'MODERATOR', 'FINANCE',
                                  'LOCATION_ADMIN', 'ADMIN', 'SUPER_ADMIN')),
    zones         text[]      NOT NULL DEFAULT '{}',
    status        text        NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'suspended', 'deactivated')),
    tier          text        NOT NULL DEFAULT 'basic',
    kyc_status    text        NOT NULL DEFAULT 'pending'
                  CHECK (kyc_status IN ('pending', 'submitted', 'approved', 'rejected')),
    avatar_url    text,
    date_of_birth date,
    gender        text        CHECK (gender IN ('male', 'female', 'other', 'undisclosed')),
    preferences   jsonb       NOT NULL DEFAULT
                  '{"language": "en", "theme": "system",
                    "notifications": {"sms": true, "email": true, "push": true, "marketing": false}}',
    last_login_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
);
CREATE INDEX users_role ON users (role);
CREATE INDEX users_zones ON users USING gin (zones);

-- What every answer shows of a user (never the password hash).
CREATE FUNCTION mandi_user_json(u users) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', u.id, 'phone', u.phone, 'email', u.email, 'name', u.name,
        'role', u.role, 'zones', to_jsonb(u.zones), 'status', u.status, 'tier', u.tier,
        'kyc_status', u.kyc_status, 'avatar_url', u.avatar_url,
        'date_of_birth', u.date_of_birth, 'gender', u.gender,
        'last_login_at', mandi_ts(u.last_login_at),
        'created_at', mandi_ts(u.created_at), 'updated_at', mandi_ts(u.updated_at));

-- A login starts a family; every refresh replaces the family's token. A
-- token presented twice means it was stolen: the family is revoked, and
-- with it the access tokens it issued (their jti names the family).
CREATE TABLE token_families (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid        NOT NULL REFERENCES users (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoked_reason text
);
CREATE INDEX token_families_user ON token_families (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    token_hash bytea       PRIMARY KEY,    -- SHA-256 of the token; the token is never stored
    family_id  uuid        NOT NULL REFERENCES token_families (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE password_resets (
    token_hash bytea       PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE TABLE addresses (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES users (id),
    label      text,
    name       text        NOT NULL,
    phone      text        NOT NULL,
    line1      text        NOT NULL,
    line2      text,
    landmark   text,
    city       text        NOT NULL,
    state      text        NOT NULL,
    pincode    text        NOT NULL CHECK (pincode ~ '^[1-9][0-9]{5}$'),
    is_default boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_user ON addresses (user_id);
-- At most one default per user, whatever the interleaving of requests.
CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default;

CREATE FUNCTION mandi_address_json(a addresses) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object(
        'id', a.id, 'label', a.label, 'name', a.name, 'phone', a.phone,
        'line1', a.line1, 'line2', a.line2, 'landmark', a.landmark, 'city', a.city,
        'state', a.state, 'pincode', a.pincode, 'is_default', a.is_default,
        'created_at', mandi_ts(a.created_at), 'updated_at', mandi_ts(a.updated_at));

CREATE TABLE kyc_submissions (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid        NOT NULL REFERENCES users (id),
    document_type   text        NOT NULL
                    CHECK (document_type IN ('aadhaar', 'pan', 'passport', 'driving_licence', 'voter_id')),
    document_number text        NOT NULL,
    full_name       text        NOT NULL,
    date_of_birth   date,
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'approved', 'rejected')),
    reason          text,
    reviewed_by     uuid        REFERENCES users (id),
    reviewed_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kyc_submissions_status ON kyc_submissions (status, created_at);
-- One submission waiting for review per user.
CREATE UNIQUE INDEX kyc_one_pending ON kyc_submissions (user_id) WHERE status = 'pending';

-- Every admin action: who did what to whom, the state before and after.
CREATE TABLE audit_log (
    id          bigserial   PRIMARY KEY,
    actor_id    uuid        NOT NULL,
    actor_role  text        NOT NULL,
    action      text        NOT NULL,  -- e.g. user.status, user.role, kyc.approve
    target_type text        NOT NULL,
    target_id   text        NOT NULL,
    before      jsonb,
    after       jsonb,
    request_id  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created ON audit_log (created_at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_id, created_at DESC);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, created_at DESC);
