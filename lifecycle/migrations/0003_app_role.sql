-- The application tier's database user (IAM auth: the app role may rds-db:connect as
-- trustbase_app, see constructs_lib/iam.py). It reads and writes customer data and reads the
-- erasure ledger (to show a DSAR's status); it cannot write the ledger, change the schema,
-- truncate, or touch the DR canary.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'trustbase_app') THEN
        CREATE ROLE trustbase_app LOGIN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO trustbase_app;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO trustbase_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON workspaces, end_users, visitors, conversations, messages TO trustbase_app;
GRANT SELECT ON erasure_ledger TO trustbase_app;
