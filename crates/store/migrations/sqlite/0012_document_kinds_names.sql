-- KYC-1/KYC-3: which document a customer sent; KYC-4: the verified identity's name as a keyed
-- hash, and how a card's holder compared with it. Keep in lockstep with postgres/0012.
ALTER TABLE verification_files ADD COLUMN document_kind TEXT;
ALTER TABLE verifications ADD COLUMN identity_name_hash TEXT;
ALTER TABLE cards ADD COLUMN holder_check TEXT NOT NULL DEFAULT 'not_given';
