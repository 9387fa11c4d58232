-- Documents a customer submits for a verification an officer reviews (no provider), encrypted,
-- deleted when the review ends (PostgreSQL). Keep in lockstep with sqlite/0011.
CREATE TABLE verification_files (
    id TEXT PRIMARY KEY,
    verification_id TEXT NOT NULL REFERENCES verifications (id),
    step TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    issued_on TEXT,
    content_enc TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX verification_files_verification ON verification_files (verification_id);
