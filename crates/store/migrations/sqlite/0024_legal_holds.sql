-- Legal holds (issue 16): over a customer (by the blind index of their e-mail), with a reason;
-- while active they stop erasure, crypto-shredding and the retention job's deletions of that
-- customer's records. Released holds stay, with who released them and why. Reasons are sealed.
-- Keep in lockstep with postgres/0024.
CREATE TABLE legal_holds (
    id TEXT PRIMARY KEY,
    email_index TEXT NOT NULL,
    customer_masked TEXT NOT NULL,
    reason_enc TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    released_by TEXT,
    released_at_ms BIGINT,
    release_reason_enc TEXT
);
CREATE INDEX legal_holds_customer ON legal_holds (email_index, released_at_ms);
