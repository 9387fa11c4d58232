-- Consolidation (ADDR-2): a deposit swept to the service's wallet, by which transaction.
-- Keep in lockstep with sqlite/0016.
ALTER TABLE deposits ADD COLUMN swept_txid TEXT;
ALTER TABLE deposits ADD COLUMN swept_at_ms BIGINT;
