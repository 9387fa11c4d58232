-- Chain watchers: the blocks seen (to notice a reorganisation by their hashes) and the transfers
-- to deposit addresses, from first sight to credit at the confirmation depth.
-- Keep in lockstep with postgres/0015.
CREATE TABLE chain_blocks (
    network TEXT NOT NULL,
    number BIGINT NOT NULL,
    hash TEXT NOT NULL,
    parent_hash TEXT NOT NULL,
    PRIMARY KEY (network, number)
);

-- status: pending (seen, not deep enough), credited (reported to the deposit intake), dropped
-- (its block left the chain before the credit), reverted (its block left the chain after).
CREATE TABLE chain_transfers (
    network TEXT NOT NULL,
    txid TEXT NOT NULL,
    output_index BIGINT NOT NULL,
    asset TEXT NOT NULL,
    address TEXT NOT NULL,
    sources TEXT NOT NULL,
    amount TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    deposit_id TEXT,
    seen_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (network, txid, output_index)
);
CREATE INDEX chain_transfers_status ON chain_transfers (network, status);
CREATE INDEX chain_transfers_block ON chain_transfers (network, block_number);

-- A credited deposit whose block left the chain no longer counts.
ALTER TABLE deposits ADD COLUMN reverted_at_ms BIGINT;
