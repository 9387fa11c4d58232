-- The case queue reads each case's answered requests (the "answered" filter and column, the
-- counts): by case, not by scanning every request. Keep in lockstep with sqlite/0020.
CREATE INDEX customer_requests_case ON customer_requests (case_id);
