-- Officers' work on cases: assignee, escalation, overdue alerts, notes (SQLite).
-- Keep in lockstep with postgres/0005.
ALTER TABLE cases ADD COLUMN assignee TEXT;
ALTER TABLE cases ADD COLUMN escalated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN overdue_alerted BIGINT NOT NULL DEFAULT 0;

CREATE TABLE case_notes (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    author TEXT NOT NULL,
    body_enc TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX case_notes_case ON case_notes (case_id);
