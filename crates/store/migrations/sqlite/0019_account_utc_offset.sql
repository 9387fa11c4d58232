-- The customer's time zone for e-mails, as an offset from UTC in minutes (the settings page sets
-- it; 0 until then). Keep in lockstep with postgres/0019.
ALTER TABLE accounts ADD COLUMN utc_offset_minutes INTEGER NOT NULL DEFAULT 0;
