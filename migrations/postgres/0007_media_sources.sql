-- Where each workspace's media comes from (FEATURES M1–M3): its media source setting with every
-- version kept, the source's secret sealed apart, and the state of its syncs. No row: the
-- workspace reads the default local folder (MEDIA_DIR).

-- Type 2 history: one row per version, valid from valid_from until valid_to (NULL: current).
-- The settings are JSON (storyline_domain::source::SourceConfig); nothing in them is secret.
CREATE TABLE media_source_versions (
    workspace_id   UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    version        BIGINT NOT NULL CHECK (version >= 1),
    kind           TEXT NOT NULL CHECK (kind IN ('local', 's3', 'drive')),
    config         TEXT NOT NULL,
    -- whether this version set a new secret (shown as "changed", never its value)
    secret_changed BOOLEAN NOT NULL,
    valid_from     TIMESTAMPTZ NOT NULL,
    valid_to       TIMESTAMPTZ,
    set_by         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

-- The current source's secret (S3 secret access key, service-account key), sealed by the store's
-- cipher and authenticated with the workspace, so a ciphertext copied to another workspace's row
-- does not open. Never plaintext. No row: the current source has no secret.
CREATE TABLE media_source_secrets (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    -- the key id, nonce and sealed secret
    ciphertext   BYTEA NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- The last sync of each workspace and whether its source answers. No row: never synced.
CREATE TABLE media_sync_status (
    workspace_id      UUID PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    last_synced_at    TIMESTAMPTZ,
    -- what the last sync did, as JSON
    last_summary      TEXT,
    unreachable_since TIMESTAMPTZ
);
