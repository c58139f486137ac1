-- What a workspace's chat was told once (why its stories go the manual way, say), so that it
-- hears it once however many processes notice it. A row per workspace and topic; removed when it
-- no longer holds.
CREATE TABLE workspace_notices (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    topic        TEXT NOT NULL,
    notice_key   TEXT NOT NULL,
    told_at      TEXT NOT NULL,
    PRIMARY KEY (workspace_id, topic)
);
