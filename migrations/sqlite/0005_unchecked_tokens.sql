-- Whether Meta confirmed a token when it was stored: a token added while Meta could not be
-- reached is saved as given and listed as "Not checked" (older rows were checked or predate this).
ALTER TABLE api_tokens ADD COLUMN checked BOOLEAN NOT NULL DEFAULT 1;
