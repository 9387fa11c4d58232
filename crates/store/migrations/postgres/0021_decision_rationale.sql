-- Why an officer decided as they did, encrypted (AAD decisions/rationale/id); required for new
-- decisions, none on decisions made before. Keep in lockstep with sqlite/0021.
ALTER TABLE decisions ADD COLUMN rationale_enc TEXT;
