-- Erasure against concurrent writes. From the moment an erasure is accepted (its ledger entry is
-- committed by the validate step, before anything is deleted), the database refuses new rows for
-- its subject: the ledger entry is the tombstone. Without this, the application could add a
-- message or a conversation to a workspace between two of the erasure's chunks, or to a user
-- whose objects are still being deleted, and only the order of the chunks would decide whether
-- it survives. The refusal is an integrity error the application sees (SQLSTATE 23514,
-- constraint "erasure_tombstone"), never a silent drop.
--
-- Rows that committed before the tombstone are deleted by the erasure itself (it runs after it);
-- a write racing the final DELETE is settled by the foreign keys (ON DELETE CASCADE: the row
-- either exists when the parent goes, and goes with it, or its insert fails).

-- The lookups the triggers make on every insert, each through an index.
CREATE INDEX erasure_ledger_workspace_tombstone_idx ON erasure_ledger (workspace_id) WHERE kind = 'workspace';
CREATE INDEX erasure_ledger_user_tombstone_idx ON erasure_ledger (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX erasure_ledger_visitor_tombstone_idx ON erasure_ledger (visitor_id) WHERE visitor_id IS NOT NULL;

-- Refuses if the row (as it is, or as it would be) belongs to a subject with a ledger entry.
CREATE FUNCTION check_not_erased(tbl text, r record) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    ws uuid := r.workspace_id;
    end_user uuid;
    visitor uuid;
BEGIN
    IF tbl = 'end_users' THEN
        end_user := r.id;
    ELSIF tbl = 'visitors' THEN
        visitor := r.id;
    ELSIF tbl = 'conversations' THEN
        end_user := r.end_user_id;
        visitor := r.visitor_id;
    ELSIF tbl = 'messages' THEN
        SELECT c.end_user_id, c.visitor_id, c.workspace_id INTO end_user, visitor, ws
        FROM conversations c WHERE c.id = r.conversation_id;
        IF ws IS NULL THEN
            ws := r.workspace_id;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM erasure_ledger WHERE kind = 'workspace' AND workspace_id IN (ws, r.workspace_id)) THEN
        RAISE EXCEPTION 'workspace % is being erased or was erased: no data may be written to it', ws
            USING ERRCODE = 'check_violation', CONSTRAINT = 'erasure_tombstone', TABLE = tbl;
    END IF;
    IF end_user IS NOT NULL AND EXISTS (SELECT 1 FROM erasure_ledger WHERE user_id = end_user) THEN
        RAISE EXCEPTION 'end user % is being erased or was erased: no data may be written for them', end_user
            USING ERRCODE = 'check_violation', CONSTRAINT = 'erasure_tombstone', TABLE = tbl;
    END IF;
    IF visitor IS NOT NULL AND EXISTS (SELECT 1 FROM erasure_ledger WHERE visitor_id = visitor) THEN
        RAISE EXCEPTION 'visitor % is being erased or was erased: no data may be written for them', visitor
            USING ERRCODE = 'check_violation', CONSTRAINT = 'erasure_tombstone', TABLE = tbl;
    END IF;
END
$$;

-- A new row, or an update that moves a row to another subject (checked as it would be) or away from
-- one (checked as it was: moving data out of a subject under erasure would let it escape).
CREATE FUNCTION refuse_write_to_erased_subject() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM check_not_erased(TG_TABLE_NAME, NEW);
    IF TG_OP = 'UPDATE' THEN
        PERFORM check_not_erased(TG_TABLE_NAME, OLD);
    END IF;
    RETURN NEW;
END
$$;

-- On insert, and on an update of the columns that name the subject.
CREATE TRIGGER end_users_erasure_tombstone BEFORE INSERT OR UPDATE OF id, workspace_id ON end_users
    FOR EACH ROW EXECUTE FUNCTION refuse_write_to_erased_subject();
CREATE TRIGGER visitors_erasure_tombstone BEFORE INSERT OR UPDATE OF id, workspace_id ON visitors
    FOR EACH ROW EXECUTE FUNCTION refuse_write_to_erased_subject();
CREATE TRIGGER conversations_erasure_tombstone
    BEFORE INSERT OR UPDATE OF workspace_id, end_user_id, visitor_id ON conversations
    FOR EACH ROW EXECUTE FUNCTION refuse_write_to_erased_subject();
CREATE TRIGGER messages_erasure_tombstone BEFORE INSERT OR UPDATE OF workspace_id, conversation_id ON messages
    FOR EACH ROW EXECUTE FUNCTION refuse_write_to_erased_subject();
