-- For the back-office overview and the queue. When a case was closed (cases closed per day, the share closed by
-- their deadline, the time to close). Cases closed before this column existed take the time of
-- their "case.closed" audit entry. Keep in lockstep with sqlite/0022.
ALTER TABLE cases ADD COLUMN closed_at_ms BIGINT;
UPDATE cases SET closed_at_ms = (
    SELECT MAX(a.at_ms) FROM audit_log a
    WHERE a.entity_id = cases.id AND a.entity_type = 'case' AND a.action = 'case.closed'
) WHERE status = 'closed';
-- The categories a case was opened for (those its reasons name), as ",sanctions,gambling,": the
-- queue filters on it and the overview counts it without reading each case's reasons.
ALTER TABLE cases ADD COLUMN categories TEXT NOT NULL DEFAULT ',';
UPDATE cases SET categories = categories || 'illegal_service,' WHERE reasons LIKE '%"category":"illegal_service"%';
UPDATE cases SET categories = categories || 'mixing_service,' WHERE reasons LIKE '%"category":"mixing_service"%';
UPDATE cases SET categories = categories || 'fraudulent_exchange,' WHERE reasons LIKE '%"category":"fraudulent_exchange"%';
UPDATE cases SET categories = categories || 'darknet_marketplace,' WHERE reasons LIKE '%"category":"darknet_marketplace"%';
UPDATE cases SET categories = categories || 'darknet_service,' WHERE reasons LIKE '%"category":"darknet_service"%';
UPDATE cases SET categories = categories || 'ransom,' WHERE reasons LIKE '%"category":"ransom"%';
UPDATE cases SET categories = categories || 'scam,' WHERE reasons LIKE '%"category":"scam"%';
UPDATE cases SET categories = categories || 'stolen_coins,' WHERE reasons LIKE '%"category":"stolen_coins"%';
UPDATE cases SET categories = categories || 'terrorism_financing,' WHERE reasons LIKE '%"category":"terrorism_financing"%';
UPDATE cases SET categories = categories || 'sanctions,' WHERE reasons LIKE '%"category":"sanctions"%';
UPDATE cases SET categories = categories || 'illicit_actor_organization,' WHERE reasons LIKE '%"category":"illicit_actor_organization"%';
UPDATE cases SET categories = categories || 'high_risk_jurisdiction,' WHERE reasons LIKE '%"category":"high_risk_jurisdiction"%';
UPDATE cases SET categories = categories || 'gambling,' WHERE reasons LIKE '%"category":"gambling"%';
UPDATE cases SET categories = categories || 'fraud_shop,' WHERE reasons LIKE '%"category":"fraud_shop"%';
UPDATE cases SET categories = categories || 'enforcement_action,' WHERE reasons LIKE '%"category":"enforcement_action"%';
UPDATE cases SET categories = categories || 'child_exploitation,' WHERE reasons LIKE '%"category":"child_exploitation"%';
UPDATE cases SET categories = categories || 'high_risk_exchange,' WHERE reasons LIKE '%"category":"high_risk_exchange"%';
UPDATE cases SET categories = categories || 'p2p_exchange_unlicensed,' WHERE reasons LIKE '%"category":"p2p_exchange_unlicensed"%';
UPDATE cases SET categories = categories || 'privacy_protocol,' WHERE reasons LIKE '%"category":"privacy_protocol"%';
UPDATE cases SET categories = categories || 'atm,' WHERE reasons LIKE '%"category":"atm"%';
UPDATE cases SET categories = categories || 'exchange,' WHERE reasons LIKE '%"category":"exchange"%';
UPDATE cases SET categories = categories || 'p2p_exchange,' WHERE reasons LIKE '%"category":"p2p_exchange"%';
UPDATE cases SET categories = categories || 'decentralized_exchange,' WHERE reasons LIKE '%"category":"decentralized_exchange"%';
UPDATE cases SET categories = categories || 'bridge,' WHERE reasons LIKE '%"category":"bridge"%';
UPDATE cases SET categories = categories || 'defi,' WHERE reasons LIKE '%"category":"defi"%';
UPDATE cases SET categories = categories || 'mining,' WHERE reasons LIKE '%"category":"mining"%';
UPDATE cases SET categories = categories || 'merchant_services,' WHERE reasons LIKE '%"category":"merchant_services"%';
UPDATE cases SET categories = categories || 'hosted_wallet,' WHERE reasons LIKE '%"category":"hosted_wallet"%';
UPDATE cases SET categories = categories || 'personal_wallet,' WHERE reasons LIKE '%"category":"personal_wallet"%';
UPDATE cases SET categories = categories || 'marketplace,' WHERE reasons LIKE '%"category":"marketplace"%';
UPDATE cases SET categories = categories || 'smart_contract,' WHERE reasons LIKE '%"category":"smart_contract"%';
UPDATE cases SET categories = categories || 'infrastructure,' WHERE reasons LIKE '%"category":"infrastructure"%';
UPDATE cases SET categories = categories || 'fees,' WHERE reasons LIKE '%"category":"fees"%';
UPDATE cases SET categories = categories || 'seized_funds,' WHERE reasons LIKE '%"category":"seized_funds"%';
UPDATE cases SET categories = categories || 'institutional_platform,' WHERE reasons LIKE '%"category":"institutional_platform"%';
UPDATE cases SET categories = categories || 'unnamed_service,' WHERE reasons LIKE '%"category":"unnamed_service"%';
UPDATE cases SET categories = categories || 'other,' WHERE reasons LIKE '%"category":"other"%';
UPDATE cases SET categories = categories || 'unknown,' WHERE reasons LIKE '%"category":"unknown"%';
UPDATE cases SET categories = categories || 'unmapped,' WHERE reasons LIKE '%"category":"unmapped"%';
CREATE INDEX cases_opened_at ON cases (opened_at_ms);
CREATE INDEX cases_closed_at ON cases (closed_at_ms);
