-- When a case was closed, for the back-office overview (cases closed per day, the share closed by
-- their deadline, the time to close). Cases closed before this column existed take the time of
-- their "case.closed" audit entry. Keep in lockstep with postgres/0022.
ALTER TABLE cases ADD COLUMN closed_at_ms BIGINT;
UPDATE cases SET closed_at_ms = (
    SELECT MAX(a.at_ms) FROM audit_log a
    WHERE a.entity_id = cases.id AND a.entity_type = 'case' AND a.action = 'case.closed'
) WHERE status = 'closed';
CREATE INDEX cases_opened_at ON cases (opened_at_ms);
CREATE INDEX cases_closed_at ON cases (closed_at_ms);
