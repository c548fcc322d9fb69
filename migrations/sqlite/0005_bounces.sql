-- Bounces (issue 7): every outgoing mail's VERP return path is
-- cfp+b-<token>@domain; only the token's hash is kept (bounce_hash) so a
-- DSN maps back to the exact outbox row. thread_key groups automatic
-- replies per conversation for the per-thread cap.
-- Times are milliseconds since the Unix epoch.

ALTER TABLE outbox ADD COLUMN bounce_hash TEXT;
ALTER TABLE outbox ADD COLUMN thread_key TEXT;
CREATE INDEX outbox_bounce_hash ON outbox (bounce_hash);
CREATE INDEX outbox_thread ON outbox (thread_key, created_at);
CREATE INDEX outbox_created ON outbox (created_at);

-- One row per bounce report that named one of our outgoing mails.
CREATE TABLE bounce_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_row INTEGER NOT NULL UNIQUE,
    outbox_id   INTEGER NOT NULL,
    address     TEXT NOT NULL,
    hard        INTEGER NOT NULL,
    status      TEXT,
    diagnostic  TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX bounce_events_address ON bounce_events (address);

-- Addresses cfpd no longer mails: a hard bounce, or soft bounces of
-- `limits.soft_bounce_threshold` distinct mails.
CREATE TABLE undeliverable (
    address     TEXT PRIMARY KEY,
    since       INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    message_row INTEGER
);
