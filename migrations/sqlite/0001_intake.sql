-- Inbound messages, the mailbox cursor, speakers, proposals with versions,
-- reply tokens and the outbox. Times are milliseconds since the Unix epoch.

CREATE TABLE messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source_key   TEXT NOT NULL UNIQUE,
    received_at  INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    raw          BLOB,
    sha256       TEXT NOT NULL,
    message_id   TEXT,
    from_addr    TEXT,
    subject      TEXT,
    state        TEXT NOT NULL,
    reason       TEXT,
    detail       TEXT,
    proposal_id  INTEGER,
    duplicate_of INTEGER,
    processed_at INTEGER,
    disposed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_state ON messages (state);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_undisposed ON messages (disposed) WHERE disposed = 0;

CREATE TABLE mailbox_cursor (
    mailbox     TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL
);

CREATE TABLE speakers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    email      TEXT NOT NULL UNIQUE,
    name       TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE proposals (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    speaker_id      INTEGER NOT NULL REFERENCES speakers (id),
    status          TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    tag_overrides   TEXT NOT NULL DEFAULT '{"add":[],"remove":[]}'
);

CREATE TABLE proposal_versions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id     INTEGER NOT NULL REFERENCES proposals (id),
    version         INTEGER NOT NULL,
    message_id      INTEGER REFERENCES messages (id),
    created_at      INTEGER NOT NULL,
    fields          TEXT NOT NULL,
    problems        TEXT NOT NULL,
    topics          TEXT NOT NULL,
    UNIQUE (proposal_id, version)
);

CREATE TABLE tokens (
    hash          TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    proposal_id   INTEGER,
    assignment_id INTEGER,
    bound_address TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER
);
CREATE INDEX tokens_proposal ON tokens (proposal_id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key       TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    envelope_from   TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    raw             BLOB NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    cause_message   INTEGER
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (recipient, created_at);
