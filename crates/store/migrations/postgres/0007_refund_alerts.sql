-- Overdue refunds alert once (PostgreSQL). Keep in lockstep with sqlite/0007.
ALTER TABLE refunds ADD COLUMN overdue_alerted BIGINT NOT NULL DEFAULT 0;
