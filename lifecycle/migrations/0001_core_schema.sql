-- The relational contract between the application tier and the lifecycle jobs.
-- Every customer row belongs to exactly one workspace; deleting a workspace, an end user or a
-- visitor cascades to everything that hangs off it, so one DELETE removes a subject completely.

CREATE TABLE workspaces (
    id               uuid PRIMARY KEY,
    name             text        NOT NULL,
    region           text        NOT NULL,            -- the hosting region; a row never moves
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_activity_at timestamptz NOT NULL DEFAULT now() -- bumped by the app on any member activity
);
CREATE INDEX workspaces_last_activity_idx ON workspaces (last_activity_at);

CREATE TABLE end_users (
    id           uuid PRIMARY KEY,
    workspace_id uuid        NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email        text        NOT NULL,
    display_name text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- An email identifies at most one user per workspace (DSARs may name the user by email).
CREATE UNIQUE INDEX end_users_workspace_email_idx ON end_users (workspace_id, lower(email));

CREATE TABLE visitors (
    id            uuid PRIMARY KEY,
    workspace_id  uuid        NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    user_agent    text,
    ip_prefix     inet                                  -- truncated by the app before insert
);
CREATE INDEX visitors_last_seen_idx ON visitors (last_seen_at);
CREATE INDEX visitors_workspace_idx ON visitors (workspace_id);

CREATE TABLE conversations (
    id           uuid PRIMARY KEY,
    workspace_id uuid        NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    end_user_id  uuid        REFERENCES end_users (id) ON DELETE CASCADE,
    visitor_id   uuid        REFERENCES visitors (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversations_one_subject CHECK (num_nonnulls(end_user_id, visitor_id) = 1)
);
CREATE INDEX conversations_end_user_idx ON conversations (end_user_id);
CREATE INDEX conversations_visitor_idx ON conversations (visitor_id);
CREATE INDEX conversations_workspace_idx ON conversations (workspace_id);

CREATE TABLE messages (
    id              uuid PRIMARY KEY,
    conversation_id uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    workspace_id    uuid        NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id);

-- One row per erasure (DSAR or workspace deletion, requested or by retention). It holds NO
-- personal data: the subject is the opaque user/workspace ID (an email in a request is resolved
-- to the ID and never stored), the requester is a principal, counts are numbers.
CREATE TABLE erasure_ledger (
    request_id   text        PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('user', 'workspace')),
    workspace_id uuid        NOT NULL,
    user_id      uuid,
    requester    text        NOT NULL,
    region       text        NOT NULL,
    received_at  timestamptz NOT NULL,
    completed_at timestamptz,
    status       text        NOT NULL CHECK (status IN ('in_progress', 'completed')),
    counts       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT erasure_ledger_subject CHECK ((kind = 'user') = (user_id IS NOT NULL))
);
CREATE INDEX erasure_ledger_completed_idx ON erasure_ledger (completed_at);
