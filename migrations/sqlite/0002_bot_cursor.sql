-- Where the bot's intake of Telegram updates stands: one row for the whole bot.
CREATE TABLE bot_cursor (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    last_update_id INTEGER NOT NULL
);
