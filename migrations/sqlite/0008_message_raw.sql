-- A message's bytes live in their own table. Intake updates a message row
-- twice after storing it (terminal state, then filed away); with the bytes in
-- the row, each update rewrote the whole mail (SQLite rewrites a row in full,
-- overflow pages included), tripling what a backlog writes to the WAL.
CREATE TABLE message_raw (
    id  INTEGER PRIMARY KEY REFERENCES messages (id),
    raw BLOB NOT NULL
);
INSERT INTO message_raw (id, raw) SELECT id, raw FROM messages WHERE raw IS NOT NULL;
ALTER TABLE messages DROP COLUMN raw;
