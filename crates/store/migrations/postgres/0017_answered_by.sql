-- Who answered a request to the customer: the customer (customer:<id>) or, in the integration
-- mode [api] answers_by_key, an API key (api_key:<id>), which never counts as the customer's own
-- answer (REF-2). Earlier answers take the actor the audit log recorded for them.
-- Keep in lockstep with sqlite/0017.
ALTER TABLE customer_requests ADD COLUMN answered_by TEXT;
UPDATE customer_requests SET answered_by = (
    SELECT a.actor FROM audit_log a
    WHERE a.entity_type = 'customer_request' AND a.entity_id = customer_requests.id AND a.action = 'request.answered'
    ORDER BY a.seq DESC LIMIT 1
) WHERE status = 'answered';
