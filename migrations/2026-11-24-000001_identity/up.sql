-- Identity and access: accounts, refresh token families, partner clients,
-- audit log.

CREATE TABLE users (
    id                uuid PRIMARY KEY,
    -- stored normalised (lower-case); unique when present
    email             text UNIQUE,
    -- mainland mobile, 11 digits; unique when present
    phone             text UNIQUE,
    password_hash     text NOT NULL,
    display_name      text NOT NULL,
    is_platform_admin boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_or_phone CHECK (email IS NOT NULL OR phone IS NOT NULL),
    CONSTRAINT users_email_lower CHECK (email = lower(email))
);
SELECT diesel_manage_updated_at('users');

-- Only the SHA-256 of a refresh token is stored. A token is current while
-- rotated_at and revoked_at are NULL and expires_at is in the future.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE partners (
    id                uuid PRIMARY KEY,
    name              text NOT NULL,
    client_id         text NOT NULL UNIQUE,
    -- SHA-256 of a 256-bit random secret
    secret_hash       text NOT NULL,
    scopes            text[] NOT NULL,
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_by        uuid NOT NULL REFERENCES users (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    secret_rotated_at timestamptz NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('partners');

-- Append-only: who did what, when, from where.
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor_kind  text NOT NULL CHECK (actor_kind IN ('anonymous', 'user', 'partner', 'system')),
    actor_id    uuid,
    action      text NOT NULL,
    target_kind text,
    target_id   text,
    ip          text,
    request_id  text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_action_idx ON audit_log (action, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id DESC);
