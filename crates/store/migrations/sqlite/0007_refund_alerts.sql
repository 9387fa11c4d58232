-- Overdue refunds alert once (SQLite). Keep in lockstep with postgres/0007.
ALTER TABLE refunds ADD COLUMN overdue_alerted BIGINT NOT NULL DEFAULT 0;
