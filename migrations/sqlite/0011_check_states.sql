-- no-transaction
-- Every stored state, reason and kind column gets a CHECK constraint listing
-- exactly the spellings of its enum in `src/model/` (a unit test holds these
-- lists to the enums). A value outside the list can no longer be written,
-- so every row reads back as a known variant.
--
-- The lists are written `col = 'a' OR col = 'b' …`, not `col IN ('a', …)`:
-- SQLite builds an ephemeral index for an IN list each time a CHECK runs
-- (about 4.5 µs a row against 0.3 µs for the comparisons, measured with the
-- sqlite3 shell on a million inserts), which cost intake 8 % of its CPU.
-- The meaning is the same, NULL included (a NULL reason passes either way).
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
    CONSTRAINT messages_state_check CHECK (
        state = 'received' OR state = 'accepted' OR state = 'draft' OR state = 'updated'
        OR state = 'withdrawn' OR state = 'review_recorded' OR state = 'released'
        OR state = 'help' OR state = 'duplicate' OR state = 'auto_generated'
        OR state = 'bounce' OR state = 'rejected' OR state = 'quarantined'
        OR state = 'unsubscribed' OR state = 'needs_review'),
    CONSTRAINT messages_reason_check CHECK (
        reason = 'sender_mismatch' OR reason = 'update_not_understood'
        OR reason = 'proposal_withdrawn' OR reason = 'withdraw_without_token'
        OR reason = 'too_large' OR reason = 'attachments' OR reason = 'no_sender'
        OR reason = 'cfp_closed' OR reason = 'reviewer_mismatch'
        OR reason = 'token_expired' OR reason = 'review_without_token'
        OR reason = 'assignment_mismatch' OR reason = 'assignment_released'
        OR reason = 'review_closed' OR reason = 'review_form'
        OR reason = 'review_of_withdrawn' OR reason = 'bounce' OR reason = 'auto-reply'
        OR reason = 'mailing-list' OR reason = 'feedback-report' OR reason = 'own-mail'
        OR reason = 'system' OR reason = 'return-path' OR reason = 'unparseable'
        OR reason = 'duplicate' OR reason = 'dmarc_fail' OR reason = 'help'
        OR reason = 'not_a_proposal' OR reason = 'late_entry'
        OR reason = 'missing_fields' OR reason = 'conflict' OR reason = 'decline'
        OR reason = 'unsubscribe' OR reason = 'unknown_unsubscribe_token'
        OR reason = 'released_by_chair' OR reason = 'panic')
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
    CONSTRAINT proposals_status_check CHECK (
        status = 'submitted' OR status = 'draft' OR status = 'late'
        OR status = 'withdrawn')
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
    CONSTRAINT tokens_kind_check CHECK (
        kind = 'proposal' OR kind = 'assignment')
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
    CONSTRAINT outbox_state_check CHECK (
        state = 'queued' OR state = 'sending' OR state = 'sent' OR state = 'failed'
        OR state = 'uncertain' OR state = 'suppressed'),
    CONSTRAINT outbox_kind_check CHECK (
        kind = 'ack' OR kind = 'draft' OR kind = 'closed' OR kind = 'help'
        OR kind = 'rejection' OR kind = 'updated' OR kind = 'withdrawn'
        OR kind = 'receipt' OR kind = 'released' OR kind = 'review_help'
        OR kind = 'assignment' OR kind = 'announcement' OR kind = 'reminder'
        OR kind = 'digest' OR kind = 'too_large_alert' OR kind = 'breaker_alert'
        OR kind = 'bounce_alert')
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
    CONSTRAINT assignments_state_check CHECK (
        state = 'active' OR state = 'declined' OR state = 'conflict')
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
