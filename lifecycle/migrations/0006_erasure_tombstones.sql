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

CREATE FUNCTION trustbase_refuse_erased_subject() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    end_user uuid;
    visitor uuid;
BEGIN
    IF EXISTS (SELECT 1 FROM erasure_ledger WHERE kind = 'workspace' AND workspace_id = NEW.workspace_id) THEN
        RAISE EXCEPTION 'workspace % is being erased or was erased: no new data may be written to it', NEW.workspace_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'erasure_tombstone', TABLE = TG_TABLE_NAME;
    END IF;
    IF TG_TABLE_NAME = 'end_users' THEN
        end_user := NEW.id;
    ELSIF TG_TABLE_NAME = 'visitors' THEN
        visitor := NEW.id;
    ELSIF TG_TABLE_NAME = 'conversations' THEN
        end_user := NEW.end_user_id;
        visitor := NEW.visitor_id;
    ELSIF TG_TABLE_NAME = 'messages' THEN
        SELECT c.end_user_id, c.visitor_id INTO end_user, visitor FROM conversations c WHERE c.id = NEW.conversation_id;
    END IF;
    IF end_user IS NOT NULL AND EXISTS (SELECT 1 FROM erasure_ledger WHERE user_id = end_user) THEN
        RAISE EXCEPTION 'end user % is being erased or was erased: no new data may be written for them', end_user
            USING ERRCODE = 'check_violation', CONSTRAINT = 'erasure_tombstone', TABLE = TG_TABLE_NAME;
    END IF;
    IF visitor IS NOT NULL AND EXISTS (SELECT 1 FROM erasure_ledger WHERE visitor_id = visitor) THEN
        RAISE EXCEPTION 'visitor % is being erased or was erased: no new data may be written for them', visitor
            USING ERRCODE = 'check_violation', CONSTRAINT = 'erasure_tombstone', TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END
$$;

-- On insert, and on an update that moves a row to another subject.
CREATE TRIGGER end_users_erasure_tombstone BEFORE INSERT OR UPDATE OF id, workspace_id ON end_users
    FOR EACH ROW EXECUTE FUNCTION trustbase_refuse_erased_subject();
CREATE TRIGGER visitors_erasure_tombstone BEFORE INSERT OR UPDATE OF id, workspace_id ON visitors
    FOR EACH ROW EXECUTE FUNCTION trustbase_refuse_erased_subject();
CREATE TRIGGER conversations_erasure_tombstone
    BEFORE INSERT OR UPDATE OF workspace_id, end_user_id, visitor_id ON conversations
    FOR EACH ROW EXECUTE FUNCTION trustbase_refuse_erased_subject();
CREATE TRIGGER messages_erasure_tombstone BEFORE INSERT OR UPDATE OF workspace_id, conversation_id ON messages
    FOR EACH ROW EXECUTE FUNCTION trustbase_refuse_erased_subject();
