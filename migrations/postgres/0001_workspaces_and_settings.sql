-- Workspaces, their runtime settings with every version kept, people and roles, the audit trail,
-- and prompts waiting for an answer. Every row that belongs to a workspace names it.

CREATE TABLE workspaces (
    id               UUID PRIMARY KEY,
    telegram_chat_id BIGINT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE chat_settings (
    workspace_id         UUID PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    dry_run_mode         BOOLEAN NOT NULL,
    enable_instagram_api BOOLEAN NOT NULL,
    is_paused            BOOLEAN NOT NULL,
    paused_at            TIMESTAMPTZ,
    paused_by            TEXT,
    posts_per_day        INTEGER NOT NULL CHECK (posts_per_day BETWEEN 1 AND 50),
    posting_hours_start  INTEGER NOT NULL CHECK (posting_hours_start BETWEEN 0 AND 23),
    posting_hours_end    INTEGER NOT NULL CHECK (posting_hours_end BETWEEN 0 AND 23),
    posting_timezone     TEXT NOT NULL,
    version              BIGINT NOT NULL,
    -- when the current version began (its valid_from)
    updated_at           TIMESTAMPTZ NOT NULL,
    CHECK (posting_hours_start <> posting_hours_end),
    CHECK (is_paused = (paused_at IS NOT NULL) AND is_paused = (paused_by IS NOT NULL))
);

-- Type 2 history: one row per version, valid from valid_from until valid_to (NULL: current).
CREATE TABLE chat_settings_history (
    workspace_id         UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    version              BIGINT NOT NULL,
    dry_run_mode         BOOLEAN NOT NULL,
    enable_instagram_api BOOLEAN NOT NULL,
    is_paused            BOOLEAN NOT NULL,
    paused_at            TIMESTAMPTZ,
    paused_by            TEXT,
    posts_per_day        INTEGER NOT NULL,
    posting_hours_start  INTEGER NOT NULL,
    posting_hours_end    INTEGER NOT NULL,
    posting_timezone     TEXT NOT NULL,
    valid_from           TIMESTAMPTZ NOT NULL,
    valid_to             TIMESTAMPTZ,
    changed_by           TEXT NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

-- Exactly one open version (valid_to NULL) per workspace is kept by the stores, which close the
-- old version and open the new one in the same atomic write (a partial unique index would be
-- checked mid-statement on PostgreSQL, where one statement does both).

CREATE TABLE users (
    telegram_user_id BIGINT PRIMARY KEY,
    username         TEXT,
    first_name       TEXT NOT NULL,
    last_name        TEXT
);

CREATE TABLE memberships (
    workspace_id     UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    telegram_user_id BIGINT NOT NULL REFERENCES users (telegram_user_id),
    role             TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    first_seen       TIMESTAMPTZ NOT NULL,
    last_seen        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, telegram_user_id)
);

CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    old_value    TEXT,
    new_value    TEXT
);

CREATE INDEX audit_log_by_workspace ON audit_log (workspace_id, action, id DESC);

CREATE TABLE pending_prompts (
    workspace_id     UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    telegram_user_id BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    message_id       INTEGER,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, telegram_user_id)
);
