-- /init wizards under way (FEATURES T1), one per chat: who started it, its answers so far (a
-- JSON document, never a secret), and when it is forgotten. Keyed by chat, not by workspace: the
-- workspace is created only when the wizard is confirmed.
CREATE TABLE init_wizards (
    telegram_chat_id BIGINT PRIMARY KEY,
    telegram_user_id BIGINT NOT NULL,
    state            TEXT NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL
);
