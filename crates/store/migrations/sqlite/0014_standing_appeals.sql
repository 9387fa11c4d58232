-- A customer's appeal of their account's suspension or restriction (SEC-17), answered by an
-- officer who may reinstate them. Texts encrypted with the customer's data key.
-- Keep in lockstep with postgres/0014.
CREATE TABLE standing_appeals (
    id TEXT PRIMARY KEY,
    email_index TEXT NOT NULL,
    status TEXT NOT NULL,
    text_enc TEXT NOT NULL,
    outcome_enc TEXT,
    reinstated BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    due_at_ms BIGINT NOT NULL,
    answered_by TEXT,
    answered_at_ms BIGINT
);
CREATE INDEX standing_appeals_customer ON standing_appeals (email_index);
CREATE INDEX standing_appeals_status_due ON standing_appeals (status, due_at_ms);
-- One open appeal per customer, even under concurrent requests.
CREATE UNIQUE INDEX standing_appeals_one_open ON standing_appeals (email_index) WHERE status = 'open';
