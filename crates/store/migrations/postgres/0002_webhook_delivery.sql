-- Webhook delivery state of the outbox (PostgreSQL). Keep in lockstep with sqlite/0002.
ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE outbox ADD COLUMN next_attempt_at_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
DROP INDEX outbox_pending;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at_ms);
