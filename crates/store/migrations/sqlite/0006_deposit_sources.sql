-- Source addresses of deposits, indexed, for the shared-source monitoring rule (SQLite).
-- Keep in lockstep with postgres/0006.
CREATE TABLE deposit_sources (
    network TEXT NOT NULL,
    address TEXT NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (id),
    deposit_id TEXT NOT NULL REFERENCES deposits (id),
    received_at_ms BIGINT NOT NULL
);
CREATE INDEX deposit_sources_address ON deposit_sources (network, address, received_at_ms);
INSERT INTO deposit_sources (network, address, order_id, deposit_id, received_at_ms)
SELECT d.network, j.value, d.order_id, d.id, d.received_at_ms FROM deposits d, json_each(d.sources) j;
