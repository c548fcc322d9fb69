-- no-transaction
-- Every stored state, reason and kind column gets a CHECK constraint listing
-- exactly the spellings of its enum in `src/model/` (a unit test holds these
-- lists to the enums). A value outside the list can no longer be written,
-- so every row reads back as a known variant.
--
-- SQLite cannot add a constraint to an existing table: each table is rebuilt
-- (create the new one, copy, drop the old, rename, recreate its indexes).
-- Dropping a table that other tables reference needs foreign key enforcement
-- off, which SQLite only allows outside a transaction, hence
-- `no-transaction` above and the explicit BEGIN/COMMIT: the rebuild is still
-- all or nothing. The AUTOINCREMENT high-water marks are carried over, so no
-- id is ever handed out twice.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE _seq_0011 AS SELECT name, seq FROM sqlite_sequence
    WHERE name IN ('messages', 'proposals', 'outbox', 'assignments');

CREATE TABLE messages_0011 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source_key   TEXT NOT NULL UNIQUE,
    received_at  INTEGER NOT NULL,
    size         INTEGER NOT NULL,
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
    disposed     INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT messages_state_check CHECK (state IN (
        'received', 'accepted', 'draft', 'updated', 'withdrawn', 'review_recorded',
        'released', 'help', 'duplicate', 'auto_generated', 'bounce', 'rejected',
        'quarantined', 'unsubscribed', 'needs_review')),
    CONSTRAINT messages_reason_check CHECK (reason IN (
        'sender_mismatch', 'update_not_understood', 'proposal_withdrawn',
        'withdraw_without_token', 'too_large', 'attachments', 'no_sender', 'cfp_closed',
        'reviewer_mismatch', 'token_expired', 'review_without_token',
        'assignment_mismatch', 'assignment_released', 'review_closed', 'review_form',
        'review_of_withdrawn', 'bounce', 'auto-reply', 'mailing-list', 'feedback-report',
        'own-mail', 'system', 'return-path', 'unparseable', 'duplicate', 'dmarc_fail',
        'help', 'not_a_proposal', 'late_entry', 'missing_fields', 'conflict', 'decline',
        'unsubscribe', 'unknown_unsubscribe_token', 'released_by_chair', 'panic'))
);
INSERT INTO messages_0011 (id, source_key, received_at, size, sha256, message_id, from_addr,
                           subject, state, reason, detail, proposal_id, duplicate_of,
                           processed_at, disposed)
    SELECT id, source_key, received_at, size, sha256, message_id, from_addr,
           subject, state, reason, detail, proposal_id, duplicate_of,
           processed_at, disposed
    FROM messages;
DROP TABLE messages;
ALTER TABLE messages_0011 RENAME TO messages;
CREATE INDEX messages_state ON messages (state);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_undisposed ON messages (disposed) WHERE disposed = 0;
CREATE INDEX messages_state_reason ON messages (state, reason) WHERE reason IS NOT NULL;

CREATE TABLE proposals_0011 (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    speaker_id       INTEGER NOT NULL REFERENCES speakers (id),
    status           TEXT NOT NULL,
    current_version  INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    tag_overrides    TEXT NOT NULL DEFAULT '{"add":[],"remove":[]}',
    reviewers_needed INTEGER,
    CONSTRAINT proposals_status_check CHECK (status IN (
        'submitted', 'draft', 'late', 'withdrawn'))
);
INSERT INTO proposals_0011 (id, speaker_id, status, current_version, created_at, updated_at,
                            tag_overrides, reviewers_needed)
    SELECT id, speaker_id, status, current_version, created_at, updated_at,
           tag_overrides, reviewers_needed
    FROM proposals;
DROP TABLE proposals;
ALTER TABLE proposals_0011 RENAME TO proposals;

CREATE TABLE tokens_0011 (
    hash          TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    proposal_id   INTEGER,
    assignment_id INTEGER,
    bound_address TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    CONSTRAINT tokens_kind_check CHECK (kind IN (
        'proposal', 'assignment'))
);
INSERT INTO tokens_0011 (hash, kind, proposal_id, assignment_id, bound_address, created_at,
                         expires_at)
    SELECT hash, kind, proposal_id, assignment_id, bound_address, created_at, expires_at
    FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_0011 RENAME TO tokens;
CREATE INDEX tokens_proposal ON tokens (proposal_id);
CREATE INDEX tokens_assignment ON tokens (assignment_id);

CREATE TABLE outbox_0011 (
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
    cause_message   INTEGER,
    bounce_hash     TEXT,
    thread_key      TEXT,
    CONSTRAINT outbox_state_check CHECK (state IN (
        'queued', 'sending', 'sent', 'failed', 'uncertain', 'suppressed')),
    CONSTRAINT outbox_kind_check CHECK (kind IN (
        'ack', 'draft', 'closed', 'help', 'rejection', 'updated', 'withdrawn', 'receipt',
        'released', 'review_help', 'assignment', 'announcement', 'reminder', 'digest',
        'too_large_alert', 'breaker_alert', 'bounce_alert'))
);
INSERT INTO outbox_0011 (id, dedup_key, kind, created_at, envelope_from, recipient, message_id,
                         subject, raw, state, attempts, next_attempt_at, last_error, sent_at,
                         cause_message, bounce_hash, thread_key)
    SELECT id, dedup_key, kind, created_at, envelope_from, recipient, message_id,
           subject, raw, state, attempts, next_attempt_at, last_error, sent_at,
           cause_message, bounce_hash, thread_key
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_0011 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_message_id ON outbox (message_id);
CREATE INDEX outbox_bounce_hash ON outbox (bounce_hash);
CREATE INDEX outbox_replies_to ON outbox (recipient, created_at, cause_message)
    WHERE cause_message IS NOT NULL;
CREATE INDEX outbox_replies_in_thread ON outbox (thread_key, created_at, cause_message)
    WHERE cause_message IS NOT NULL;
CREATE INDEX outbox_conversation_replies ON outbox (created_at, cause_message, thread_key)
    WHERE cause_message IS NOT NULL AND thread_key IS NOT NULL;

CREATE TABLE assignments_0011 (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id      INTEGER NOT NULL REFERENCES proposals (id),
    reviewer_id      INTEGER NOT NULL REFERENCES reviewers (id),
    affinity         INTEGER NOT NULL,
    state            TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    released_at      INTEGER,
    released_message INTEGER,
    replacement_id   INTEGER,
    UNIQUE (proposal_id, reviewer_id),
    CONSTRAINT assignments_state_check CHECK (state IN (
        'active', 'declined', 'conflict'))
);
INSERT INTO assignments_0011 (id, proposal_id, reviewer_id, affinity, state, created_at,
                              released_at, released_message, replacement_id)
    SELECT id, proposal_id, reviewer_id, affinity, state, created_at,
           released_at, released_message, replacement_id
    FROM assignments;
DROP TABLE assignments;
ALTER TABLE assignments_0011 RENAME TO assignments;
CREATE INDEX assignments_reviewer ON assignments (reviewer_id);
CREATE INDEX assignments_released ON assignments (released_at);
CREATE INDEX assignments_proposal ON assignments (proposal_id);

-- The copies set each sequence to the highest id still present; the old
-- high-water mark may be higher (rows deleted since).
UPDATE sqlite_sequence
    SET seq = MAX(seq, (SELECT s.seq FROM _seq_0011 s WHERE s.name = sqlite_sequence.name))
    WHERE name IN (SELECT name FROM _seq_0011);
INSERT INTO sqlite_sequence (name, seq)
    SELECT name, seq FROM _seq_0011
    WHERE name NOT IN (SELECT name FROM sqlite_sequence);
DROP TABLE _seq_0011;

COMMIT;
PRAGMA foreign_keys = ON;
