-- A message's bytes live in their own table, so the updates intake makes to a
-- message row (terminal state, then filed away) never copy the mail (see the
-- SQLite migration of the same number).
CREATE TABLE message_raw (
    id  BIGINT PRIMARY KEY REFERENCES messages (id),
    raw BYTEA NOT NULL
);
INSERT INTO message_raw (id, raw) SELECT id, raw FROM messages WHERE raw IS NOT NULL;
ALTER TABLE messages DROP COLUMN raw;
