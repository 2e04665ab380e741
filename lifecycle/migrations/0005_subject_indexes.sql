-- trustbase:no-transaction
-- Erasure and retention cost follows the subject, not the table: every statement they run finds
-- the subject's rows through an index (tests/lifecycle/test_query_plans.py proves it with EXPLAIN).
-- Built CONCURRENTLY, so a live table keeps taking writes while the index is built.

-- A workspace's messages (chunked workspace erasure; the workspace foreign key's cascade and check),
-- ordered by id so the fan-out can delete disjoint id ranges of one workspace in parallel.
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_workspace_id_idx ON messages (workspace_id, id);

-- A workspace's conversations by id range, for the same reasons.
CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_workspace_id_idx ON conversations (workspace_id, id);

-- A workspace's end users (the workspace foreign key's cascade; the email index leads with
-- workspace_id too, but on an expression the planner may not pick for a plain workspace lookup).
CREATE INDEX CONCURRENTLY IF NOT EXISTS end_users_workspace_id_idx ON end_users (workspace_id, id);

-- Retention's next inactive workspace of this region.
CREATE INDEX CONCURRENTLY IF NOT EXISTS workspaces_region_activity_idx ON workspaces (region, last_activity_at);

-- Superseded by conversations_workspace_id_idx (same leading column): one index less to maintain.
DROP INDEX CONCURRENTLY IF EXISTS conversations_workspace_idx;
