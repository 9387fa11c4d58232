-- What an officer asks the customer is personal data (it names the order's amounts and the
-- customer's circumstances): sealed with the customer's data key like their answer. Earlier
-- requests keep their clear message until they are answered and purged with the case.
-- Keep in lockstep with postgres/0018.
ALTER TABLE customer_requests ADD COLUMN message_enc TEXT;
