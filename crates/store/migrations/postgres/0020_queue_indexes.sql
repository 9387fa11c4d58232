-- The case queue counts open cases per decision off an index, and reads each case's answered
-- requests (the "answered" filter, column and count) by case, not by scanning every request.
-- Keep in lockstep with sqlite/0020.
CREATE INDEX cases_status_action ON cases (status, action);
CREATE INDEX customer_requests_case ON customer_requests (case_id);
