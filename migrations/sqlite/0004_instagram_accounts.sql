-- Instagram accounts (FEATURES A1–A7): identities, their sealed tokens, each workspace's active
-- account; how a story reached Instagram; media that must be posted by hand. Every row names its
-- workspace, and composite foreign keys (workspace_id, id) let a row name only rows of its own.

CREATE TABLE instagram_accounts (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    -- Meta's numeric id of the professional account
    instagram_id TEXT NOT NULL,
    -- without the '@'
    username     TEXT,
    -- how the token was obtained: decides the Graph API host and how it is refreshed
    login        TEXT NOT NULL CHECK (login IN ('instagram', 'facebook')),
    -- disabled accounts keep their history but cannot be selected
    enabled      BOOLEAN NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    -- an Instagram account is added once per workspace (enabled or not)
    UNIQUE (workspace_id, instagram_id),
    -- the target of the composite foreign keys below
    UNIQUE (workspace_id, id)
);

CREATE INDEX instagram_accounts_by_name ON instagram_accounts (workspace_id, display_name, id);

-- Credentials, sealed by the store's cipher (authenticated with the row's workspace and account,
-- so a ciphertext copied to another row does not open). Never plaintext.
CREATE TABLE api_tokens (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    service      TEXT NOT NULL DEFAULT 'instagram' CHECK (service <> ''),
    token_type   TEXT NOT NULL DEFAULT 'access_token' CHECK (token_type <> ''),
    account_id   BLOB NOT NULL,
    -- the key id, nonce and sealed token
    ciphertext   BLOB NOT NULL,
    -- NULL: unknown (then refresh decides)
    expires_at   TEXT,
    -- when this token was stored (added or last refreshed)
    issued_at    TEXT NOT NULL,
    -- the last problem told to the chat, so it is told once
    notice       TEXT CHECK (notice IN ('expiring', 'refresh_failed', 'dead')),
    updated_at   TEXT NOT NULL,
    FOREIGN KEY (workspace_id, account_id) REFERENCES instagram_accounts (workspace_id, id) ON DELETE CASCADE,
    -- one token of a kind per account; every column is NOT NULL, so there is no NULL loophole
    UNIQUE (service, token_type, account_id)
);

CREATE INDEX api_tokens_by_workspace ON api_tokens (workspace_id);

-- The account a workspace publishes to; no row: none selected.
CREATE TABLE active_accounts (
    workspace_id BLOB PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id   BLOB NOT NULL,
    FOREIGN KEY (workspace_id, account_id) REFERENCES instagram_accounts (workspace_id, id) ON DELETE CASCADE
);

-- The Graph API container made for an item being published, so a retry polls it instead of
-- publishing twice.
ALTER TABLE queue_items ADD COLUMN container_id TEXT;

-- How a posted story reached Instagram (NULL for skips, rejects, failures and older rows), and
-- Instagram's id of a story Storyline published.
ALTER TABLE posting_history ADD COLUMN method TEXT CHECK (method IN ('telegram', 'api'));
ALTER TABLE posting_history ADD COLUMN instagram_media_id TEXT;

-- Link stickers, polls …: the API cannot add them, so such media always goes the manual way.
ALTER TABLE media_items ADD COLUMN needs_interaction BOOLEAN NOT NULL DEFAULT 0;
