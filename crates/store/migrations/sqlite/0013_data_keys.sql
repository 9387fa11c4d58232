-- Keys kept in the database, each wrapped (encrypted) by the master key (SEC-6): the
-- blind-index key, which survives master-key rotations, and each customer's data key, whose
-- erasure (wrapped set to NULL) makes that customer's personal data unreadable.
-- Keep in lockstep with postgres/0013.
CREATE TABLE data_keys (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    wrapped TEXT,
    created_at_ms BIGINT NOT NULL,
    erased_at_ms BIGINT
);
CREATE INDEX data_keys_owner ON data_keys (owner);
CREATE INDEX data_keys_changes ON data_keys (created_at_ms);
CREATE INDEX data_keys_erasures ON data_keys (erased_at_ms);
