-- Officer decisions (with four-eyes approval) and refunds (PostgreSQL). Keep in lockstep with sqlite/0003.
CREATE TABLE decisions (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    order_id TEXT NOT NULL REFERENCES orders (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    approved_by TEXT,
    created_at_ms BIGINT NOT NULL,
    decided_at_ms BIGINT
);
CREATE INDEX decisions_case ON decisions (case_id);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    deposit_id TEXT NOT NULL REFERENCES deposits (id),
    decision_id TEXT NOT NULL REFERENCES decisions (id),
    network TEXT NOT NULL,
    asset TEXT NOT NULL,
    to_address TEXT NOT NULL,
    amount TEXT NOT NULL,
    network_fee TEXT NOT NULL,
    status TEXT NOT NULL,
    txid TEXT,
    created_at_ms BIGINT NOT NULL,
    due_at_ms BIGINT NOT NULL,
    sent_at_ms BIGINT
);
CREATE INDEX refunds_order ON refunds (order_id);
CREATE INDEX refunds_status_due ON refunds (status, due_at_ms);
