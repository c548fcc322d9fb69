-- A queued mail's bytes move out of the outbox row (issue 18). The sender
-- updates a row twice (claimed, then sent); with the bytes in the row each
-- update wrote a new version of the whole mail, most of what a backlog wrote
-- to disk. The bytes are written once, here, and never updated for a mail
-- queued from now on: its reply token is kept in `reply_secret` (until the
-- mail is final) and the stored bytes carry `+redacted@` in its place from
-- the start, so nothing needs erasing once it is sent.
CREATE TABLE outbox_raw (
    id  BIGINT PRIMARY KEY REFERENCES outbox (id),
    raw BYTEA NOT NULL
);
INSERT INTO outbox_raw (id, raw) SELECT id, raw FROM outbox;
ALTER TABLE outbox DROP COLUMN raw;
ALTER TABLE outbox ADD COLUMN reply_secret TEXT;
