-- The media library, the category mix with every version kept, the queue of slots, the posting
-- history and the locks (FEATURES C1–C4). Every row names its workspace. Paths and categories
-- compare byte by byte (COLLATE "C"), as SQLite and Rust do, so every store lists them alike.

CREATE TABLE media_items (
    id             UUID PRIMARY KEY,
    workspace_id   UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    -- below the library root, with '/' separators
    path           TEXT COLLATE "C" NOT NULL,
    category       TEXT COLLATE "C" NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('image', 'video')),
    -- SHA-256, 64 lowercase hex digits
    content_hash   TEXT NOT NULL,
    size_bytes     BIGINT NOT NULL CHECK (size_bytes >= 0),
    width          INTEGER CHECK (width >= 0),
    height         INTEGER CHECK (height >= 0),
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    times_posted   INTEGER NOT NULL DEFAULT 0 CHECK (times_posted >= 0),
    last_posted_at TIMESTAMPTZ,
    added_at       TIMESTAMPTZ NOT NULL,
    -- the same content is indexed once per workspace, and a path names one item
    UNIQUE (workspace_id, content_hash),
    UNIQUE (workspace_id, path),
    -- the target of the composite foreign keys below: a row can only name media of its own workspace
    UNIQUE (workspace_id, id)
);

-- Candidates: per category, never posted first, then least recently posted.
CREATE INDEX media_items_by_category ON media_items (workspace_id, category, last_posted_at NULLS FIRST, path);

-- Type 2 history of the category mix: valid from valid_from until valid_to (NULL: current).
CREATE TABLE category_mix_versions (
    workspace_id UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    version      BIGINT NOT NULL,
    -- the mix as `category=percent` pairs, e.g. 'memes=70 merch=30'
    mix          TEXT NOT NULL,
    valid_from   TIMESTAMPTZ NOT NULL,
    valid_to     TIMESTAMPTZ,
    set_by       TEXT NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

CREATE TABLE queue_items (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    media_id      UUID NOT NULL,
    slot_at       TIMESTAMPTZ NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'done')),
    -- set when done
    outcome       TEXT CHECK (outcome IN ('posted', 'skipped', 'rejected', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- while sending: the claim's lease; after it a posting loop may claim the item again
    claimed_until TIMESTAMPTZ,
    message_id    INTEGER,
    sent_at       TIMESTAMPTZ,
    FOREIGN KEY (workspace_id, media_id) REFERENCES media_items (workspace_id, id) ON DELETE CASCADE,
    CHECK ((status = 'done') = (outcome IS NOT NULL)),
    CHECK (status <> 'sending' OR claimed_until IS NOT NULL)
);

-- A media item is queued at most once at a time.
CREATE UNIQUE INDEX queue_items_queued_once ON queue_items (workspace_id, media_id)
    WHERE status IN ('pending', 'sending', 'sent');
-- A workspace's queue by slot (entries, last slot, counts, clear, claim_next).
CREATE INDEX queue_items_by_slot ON queue_items (workspace_id, slot_at)
    WHERE status IN ('pending', 'sending', 'sent');
-- The posting loop across every workspace: due pending slots, and leases that ran out.
CREATE INDEX queue_items_due ON queue_items (slot_at) WHERE status = 'pending';
CREATE INDEX queue_items_leased ON queue_items (claimed_until) WHERE status = 'sending';

CREATE TABLE posting_history (
    id            BIGSERIAL PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    media_id      UUID NOT NULL,
    -- the media's path when it happened
    path          TEXT COLLATE "C" NOT NULL,
    -- one outcome per queue item
    queue_item_id UUID NOT NULL UNIQUE,
    outcome       TEXT NOT NULL CHECK (outcome IN ('posted', 'skipped', 'rejected', 'failed')),
    at            TIMESTAMPTZ NOT NULL,
    actor         TEXT NOT NULL,
    error         TEXT,
    FOREIGN KEY (workspace_id, media_id) REFERENCES media_items (workspace_id, id) ON DELETE CASCADE
);

CREATE INDEX posting_history_by_workspace ON posting_history (workspace_id, at DESC, id DESC);
CREATE INDEX posting_history_by_outcome ON posting_history (workspace_id, outcome);

-- One lock per media item; a newer outcome replaces it.
CREATE TABLE media_locks (
    workspace_id UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    media_id     UUID NOT NULL,
    reason       TEXT NOT NULL CHECK (reason IN ('posted', 'skipped', 'rejected')),
    locked_at    TIMESTAMPTZ NOT NULL,
    -- NULL: for good
    locked_until TIMESTAMPTZ,
    PRIMARY KEY (workspace_id, media_id),
    FOREIGN KEY (workspace_id, media_id) REFERENCES media_items (workspace_id, id) ON DELETE CASCADE
);
