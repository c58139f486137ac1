-- Logins under way ("Log in with Instagram"): kept from the press until Meta sends the browser
-- back, taken once, gone after ten minutes. The nonce is the random part of the signed state.
CREATE TABLE login_attempts (
    workspace_id     BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    nonce            TEXT NOT NULL,
    provider         TEXT NOT NULL,
    telegram_user_id INTEGER NOT NULL,
    telegram_chat_id INTEGER NOT NULL,
    account_id       BLOB,
    verifier         TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    PRIMARY KEY (workspace_id, nonce)
);
CREATE INDEX login_attempts_expiry ON login_attempts (expires_at);

-- A login that reached several Instagram accounts (Facebook Login with several Pages), waiting
-- for its person to pick one in the chat. The token they share is sealed, bound to the choice.
CREATE TABLE login_choices (
    workspace_id     BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    choice_id        BLOB NOT NULL,
    provider         TEXT NOT NULL,
    telegram_user_id INTEGER NOT NULL,
    accounts         TEXT NOT NULL,
    sealed_token     BLOB NOT NULL,
    expires_in_days  INTEGER,
    expires_at       TEXT NOT NULL,
    PRIMARY KEY (workspace_id, choice_id)
);
