-- Documents a customer uploads with an answer (Source of Funds evidence), encrypted (SQLite).
-- Keep in lockstep with postgres/0009.
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
