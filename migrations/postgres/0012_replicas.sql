-- The processes of one deployment (`storyline run`, one row each), from their heartbeats: what
-- `storyline replicas` lists and how a replica's share of work is known. A stopped process
-- removes its row; a dead one's row is pruned once it has not been seen for a while.
CREATE TABLE replicas (
    id         TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    pid        BIGINT NOT NULL,
    mode       TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    seen_at    TIMESTAMPTZ NOT NULL,
    -- The singleton jobs it leads, comma-separated.
    leads      TEXT NOT NULL
);
CREATE INDEX replicas_by_seen ON replicas (seen_at);
