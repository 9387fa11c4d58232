-- Verifications of customers (KYC) and the provider's webhook inbox (PostgreSQL).
-- Keep in lockstep with sqlite/0010.
CREATE TABLE verifications (
    id TEXT PRIMARY KEY,
    email_index TEXT NOT NULL,
    customer_ref TEXT NOT NULL,
    order_id TEXT REFERENCES orders (id),
    level TEXT NOT NULL,
    provider TEXT NOT NULL,
    state TEXT NOT NULL,
    applicant_id TEXT,
    reject_labels TEXT NOT NULL,
    comment_enc TEXT,
    last_event_at TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    due_at_ms BIGINT NOT NULL,
    overdue_handled BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX verifications_customer ON verifications (email_index);
CREATE INDEX verifications_applicant ON verifications (applicant_id);
CREATE INDEX verifications_ref ON verifications (customer_ref);

-- Webhooks as received (encrypted), once per delivery key: a replay changes nothing.
CREATE TABLE kyc_inbox (
    dedup_key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body_enc TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL
);

-- KYC-4: bank cards by their ends and a keyed hash; never the full number, never a CVV.
CREATE TABLE cards (
    id TEXT PRIMARY KEY,
    email_index TEXT NOT NULL,
    number_hash TEXT NOT NULL,
    first6 TEXT NOT NULL,
    last4 TEXT NOT NULL,
    brand TEXT NOT NULL,
    holder_enc TEXT,
    order_id TEXT REFERENCES orders (id),
    state TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (email_index, number_hash)
);
CREATE INDEX cards_number ON cards (number_hash);
