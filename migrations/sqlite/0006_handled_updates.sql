-- Telegram updates taken for handling, one row per update and bot: an update delivered again
-- (after a crash, or to a second process) is then not handled twice. Rows older than a day are
-- pruned (Telegram keeps an update for 24 hours).
CREATE TABLE handled_updates (
    bot_id     INTEGER NOT NULL,
    update_id  INTEGER NOT NULL,
    handled_at TEXT NOT NULL,
    PRIMARY KEY (bot_id, update_id)
);
CREATE INDEX handled_updates_by_age ON handled_updates (handled_at);
