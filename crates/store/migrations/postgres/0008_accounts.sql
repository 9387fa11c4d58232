-- People who log in: staff and customers, their sessions, recovery codes, e-mail tokens and
-- login throttling (PostgreSQL). Keep in lockstep with sqlite/0008.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    email_index TEXT NOT NULL,
    email_enc TEXT NOT NULL,
    role TEXT,
    password_hash TEXT NOT NULL,
    totp_secret_enc TEXT,
    mfa_enabled BIGINT NOT NULL DEFAULT 0,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    email_confirmed BIGINT NOT NULL DEFAULT 0,
    locale TEXT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until_ms BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (kind, email_index)
);

CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    code_hash TEXT NOT NULL,
    used_at_ms BIGINT,
    PRIMARY KEY (account_id, code_hash)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    stage TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    step_up_at_ms BIGINT NOT NULL DEFAULT 0,
    revoked_at_ms BIGINT
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    purpose TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms BIGINT
);

CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    window_start_ms BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    locked_until_ms BIGINT NOT NULL
);
