-- Documents customers upload with answers, appeals of decisions, an index for the case timeline, and e-mail changes (PostgreSQL).
-- Keep in lockstep with sqlite/0009.
CREATE TABLE request_documents (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES customer_requests (id),
    file_name_enc TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content_enc TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX request_documents_request ON request_documents (request_id);

-- Appeals of decisions by customers, answered by an officer; the texts are encrypted.
CREATE TABLE appeals (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    status TEXT NOT NULL,
    text_enc TEXT NOT NULL,
    outcome_enc TEXT,
    created_at_ms BIGINT NOT NULL,
    due_at_ms BIGINT NOT NULL,
    answered_by TEXT,
    answered_at_ms BIGINT
);
CREATE INDEX appeals_order ON appeals (order_id);
CREATE INDEX appeals_status_due ON appeals (status, due_at_ms);
-- One open appeal per order, even under concurrent requests.
CREATE UNIQUE INDEX appeals_one_open ON appeals (order_id) WHERE status = 'open';

-- The case page's timeline reads the audit log by entity.
CREATE INDEX audit_log_entity ON audit_log (entity_id);

-- A changed e-mail waits, encrypted, with the link sent to it.
ALTER TABLE email_tokens ADD COLUMN data_enc TEXT;
