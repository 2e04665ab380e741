-- trustbase:no-transaction
-- Erasure and retention cost follows the subject, not the table: every statement they run finds
-- the subject's rows through an index (tests/lifecycle/test_query_plans.py proves it with EXPLAIN).
-- Built CONCURRENTLY, so a live table keeps taking writes while the index is built.

-- A workspace's messages (chunked workspace erasure, which takes each chunk in (workspace_id, id)
-- order so no chunk sorts the workspace; the workspace foreign key's cascade and check), and
-- disjoint id ranges of one workspace for the fan-out.
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_workspace_id_idx ON messages (workspace_id, id);

-- A workspace's conversations by id range, for the same reasons.
CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_workspace_id_idx ON conversations (workspace_id, id);

-- A workspace's end users (the workspace foreign key's cascade; the email index leads with
-- workspace_id too, but on an expression the planner may not pick for a plain workspace lookup).
CREATE INDEX CONCURRENTLY IF NOT EXISTS end_users_workspace_id_idx ON end_users (workspace_id, id);

-- A workspace's visitors by id, for the chunked deletion's ordered scan.
CREATE INDEX CONCURRENTLY IF NOT EXISTS visitors_workspace_id_idx ON visitors (workspace_id, id);

-- Retention's next inactive workspace of this region.
CREATE INDEX CONCURRENTLY IF NOT EXISTS workspaces_region_activity_idx ON workspaces (region, last_activity_at);

-- Superseded by the (workspace_id, id) indexes above (same leading column): fewer indexes to maintain.
DROP INDEX CONCURRENTLY IF EXISTS conversations_workspace_idx;
DROP INDEX CONCURRENTLY IF EXISTS visitors_workspace_idx;
