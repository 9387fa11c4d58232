-- The case queue (issue 15) reads off indexes and the cases' own columns: open cases per
-- decision, each case's answered requests by case, and the score of the screening that opened
-- the case (copied at its opening, so that sorting by risk joins nothing).
-- Keep in lockstep with sqlite/0020.
CREATE INDEX cases_status_action ON cases (status, action);
CREATE INDEX customer_requests_case ON customer_requests (case_id);
ALTER TABLE cases ADD COLUMN score_hundredths BIGINT;
UPDATE cases SET score_hundredths = (SELECT s.score_hundredths FROM deposits d
    JOIN screenings s ON s.id = d.screening_id WHERE d.id = cases.deposit_id);
