-- A website visitor may file a DSAR too: the ledger records visitor erasures by visitor ID (an
-- opaque ID, like user_id; never an email or IP).
ALTER TABLE erasure_ledger DROP CONSTRAINT erasure_ledger_kind_check;
ALTER TABLE erasure_ledger ADD CONSTRAINT erasure_ledger_kind_check CHECK (kind IN ('user', 'visitor', 'workspace'));
ALTER TABLE erasure_ledger ADD COLUMN visitor_id uuid;
ALTER TABLE erasure_ledger ADD CONSTRAINT erasure_ledger_visitor CHECK ((kind = 'visitor') = (visitor_id IS NOT NULL));
