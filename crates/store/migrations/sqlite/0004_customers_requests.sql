-- Customers (by the blind index of their e-mail) and requests to them (SQLite).
-- Keep in lockstep with postgres/0004.
CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    email_index TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE customer_requests (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    order_id TEXT NOT NULL REFERENCES orders (id),
    customer_id TEXT REFERENCES customers (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    answer_enc TEXT,
    requested_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    due_at_ms BIGINT NOT NULL,
    answered_at_ms BIGINT,
    review_due_at_ms BIGINT,
    escalation BIGINT NOT NULL
);
CREATE INDEX customer_requests_order ON customer_requests (order_id);
CREATE INDEX customer_requests_status_due ON customer_requests (status, due_at_ms);
