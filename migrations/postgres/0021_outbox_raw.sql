-- A queued mail's bytes move out of the outbox row (issue 18). The sender
-- updates a row twice (claimed, then sent); with the bytes in the row each
-- update wrote a new version of the whole mail, most of what a backlog wrote
-- to disk. The bytes are written once, here, and never updated for a mail
-- queued from now on: its reply token is kept in `reply_secret` (until the
-- mail is final) and the stored bytes carry `+redacted@` in its place from
-- the start, so nothing needs erasing once it is sent.
-- New rows are deflated (`compressed` = 1, see store::packed); rows copied
-- here keep their bytes as they were.
CREATE TABLE outbox_raw (
    id         BIGINT PRIMARY KEY REFERENCES outbox (id),
    raw        BYTEA NOT NULL,
    compressed BIGINT NOT NULL DEFAULT 0 CHECK (compressed IN (0, 1))
);
INSERT INTO outbox_raw (id, raw) SELECT id, raw FROM outbox;
ALTER TABLE outbox DROP COLUMN raw;
ALTER TABLE outbox ADD COLUMN reply_secret TEXT;

-- The sender looks for queued mail only: the index holds those rows alone,
-- so marking a mail sending and then sent no longer moves its entry twice.
-- Oldest first, as the sender takes them.
DROP INDEX outbox_due;
CREATE INDEX outbox_queued ON outbox (id, next_attempt_at) WHERE state = 'queued';

-- An inbound message's bytes are compressed the same way from now on.
ALTER TABLE message_raw ADD COLUMN compressed BIGINT NOT NULL DEFAULT 0 CHECK (compressed IN (0, 1));
