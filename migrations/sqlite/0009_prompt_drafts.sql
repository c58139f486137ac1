-- Earlier answers of a many-step prompt (the media source dialogue), as a JSON array of
-- strings. Never a secret: the secret is the last answer and is not stored.
ALTER TABLE pending_prompts ADD COLUMN draft TEXT;
