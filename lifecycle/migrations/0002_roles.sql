-- Database roles, least privilege. Lambdas log in with IAM database authentication (rds_iam),
-- never a password. The roles exist only where the rds_iam role does (Aurora); elsewhere
-- (tests) they are created without it.

DO $$
DECLARE
    iam boolean := EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam');
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['trustbase_lifecycle', 'trustbase_dr'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', r);
        END IF;
        IF iam THEN
            EXECUTE format('GRANT rds_iam TO %I', r);
        END IF;
    END LOOP;
END
$$;

-- The lifecycle jobs read what they must select on and delete subjects; they cannot insert
-- customer data or change the schema. The ledger is theirs to write.
GRANT USAGE ON SCHEMA public TO trustbase_lifecycle;
GRANT SELECT, DELETE ON workspaces, end_users, visitors, conversations, messages TO trustbase_lifecycle;
GRANT SELECT, INSERT, UPDATE ON erasure_ledger TO trustbase_lifecycle;

-- DR drills write and read canary rows in their own schema and nothing else. The schema and table
-- belong to the migrating (master) user and trustbase_dr is granted exactly what it uses: RDS's
-- master user is not a superuser, and handing ownership to another role ("AUTHORIZATION",
-- "OWNER TO") requires being able to SET ROLE to it, which a CREATEROLE user is not by default.
CREATE SCHEMA IF NOT EXISTS trustbase_dr;
CREATE TABLE IF NOT EXISTS trustbase_dr.canary (
    id         uuid PRIMARY KEY,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    note       text NOT NULL
);
GRANT USAGE ON SCHEMA trustbase_dr TO trustbase_dr;
GRANT SELECT, INSERT ON trustbase_dr.canary TO trustbase_dr;
