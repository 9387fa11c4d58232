-- Keys kept in the database, each wrapped (encrypted) by the master key: the blind-index key,
-- which survives master-key rotations (SEC-6). Keep in lockstep with sqlite/0013.
CREATE TABLE data_keys (
    owner TEXT PRIMARY KEY,
    wrapped TEXT,
    created_at_ms BIGINT NOT NULL,
    erased_at_ms BIGINT
);
