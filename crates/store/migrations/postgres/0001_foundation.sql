-- Foundation schema (PostgreSQL). Keep in lockstep with sqlite/0001_foundation.sql:
-- the test `sqlite_and_postgres_schemas_agree` compares them.

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE policy_versions (
    version BIGINT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    document TEXT NOT NULL,
    effective_at_ms BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);

CREATE TABLE label_sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    attribution TEXT NOT NULL,
    imported_at_ms BIGINT NOT NULL,
    label_count BIGINT NOT NULL
);

CREATE TABLE labels (
    source TEXT NOT NULL REFERENCES label_sources (name),
    network TEXT NOT NULL,
    address TEXT NOT NULL,
    category TEXT NOT NULL,
    label TEXT NOT NULL,
    confidence BIGINT NOT NULL
);
CREATE INDEX labels_source ON labels (source);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    external_id TEXT,
    status TEXT NOT NULL,
    pay_network TEXT NOT NULL,
    pay_asset TEXT NOT NULL,
    pay_amount TEXT NOT NULL,
    receive_network TEXT NOT NULL,
    receive_asset TEXT NOT NULL,
    receive_amount TEXT NOT NULL,
    receive_address TEXT NOT NULL,
    deposit_address TEXT NOT NULL,
    deposit_index BIGINT NOT NULL,
    customer_email_enc TEXT,
    customer_email_index TEXT,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX orders_deposit_address ON orders (pay_network, deposit_address);
CREATE INDEX orders_external_id ON orders (external_id);
CREATE INDEX orders_customer_email_index ON orders (customer_email_index);

CREATE TABLE deposit_addresses (
    network TEXT NOT NULL,
    address TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    derivation_index BIGINT NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (id),
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (network, address)
);
CREATE UNIQUE INDEX deposit_addresses_derivation ON deposit_addresses (network, key_fingerprint, derivation_index);

CREATE TABLE deposits (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    network TEXT NOT NULL,
    asset TEXT NOT NULL,
    address TEXT NOT NULL,
    txid TEXT NOT NULL,
    output_index BIGINT NOT NULL,
    amount TEXT NOT NULL,
    sources TEXT NOT NULL,
    confirmations BIGINT,
    screening_id TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX deposits_transfer ON deposits (network, txid, output_index);
CREATE INDEX deposits_order ON deposits (order_id);

CREATE TABLE screenings (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    network TEXT NOT NULL,
    address TEXT NOT NULL,
    order_id TEXT,
    deposit_id TEXT,
    action TEXT NOT NULL,
    band TEXT NOT NULL,
    score_hundredths BIGINT NOT NULL,
    policy_version BIGINT NOT NULL REFERENCES policy_versions (version),
    decision TEXT NOT NULL,
    reports TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX screenings_order ON screenings (order_id);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    order_id TEXT NOT NULL REFERENCES orders (id),
    deposit_id TEXT,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    reasons TEXT NOT NULL,
    deadline_kind TEXT NOT NULL,
    opened_at_ms BIGINT NOT NULL,
    due_at_ms BIGINT NOT NULL
);
CREATE INDEX cases_order ON cases (order_id);
CREATE INDEX cases_status_due ON cases (status, due_at_ms);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    delivered_at_ms BIGINT
);
CREATE INDEX outbox_pending ON outbox (delivered_at_ms, created_at_ms);

CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    status_code BIGINT,
    response_body TEXT,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- The chain's head, updated with every append: detects rows removed from the end.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The audit log is append-only.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
