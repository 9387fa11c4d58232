-- The register of authority requests (DISC-1): restricted records. Who asks, the legal basis,
-- the document's reference and the scope (which names customers) are sealed in details_enc;
-- kind, state and dates are plain for the register and its clocks. Keep in lockstep with
-- postgres/0023.
CREATE TABLE authority_requests (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    emergency BIGINT NOT NULL,
    freeze_requested BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    due_at_ms BIGINT NOT NULL,
    non_disclosure_until_ms BIGINT,
    details_enc TEXT NOT NULL,
    verification TEXT,
    approvals TEXT NOT NULL,
    pending_outcome TEXT,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    -- The statutory clock: when the reminder before the due day, and the overdue alert, went out.
    reminded_at_ms BIGINT,
    overdue_alerted_at_ms BIGINT,
    -- The SHA-256 of the last disclosure bundle's tag manifest (it names the whole bag).
    bundle_sha256 TEXT
);
CREATE INDEX authority_requests_state_due ON authority_requests (state, due_at_ms);
