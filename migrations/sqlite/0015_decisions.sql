-- no-transaction
-- Decisions (issue 15): what the chairs decided about each proposal, with
-- its whole history. Every decision or change is a new version; exactly one
-- is current per decided proposal. `notified_at` is set in the transaction
-- that queues the decision's mails (`cfpd notify --send`), so a decision is
-- told once, and changing a told decision needs `cfpd decide --force`.
-- `confirmation` is the accepted speaker's answer by reply (and when, and
-- which message said it).
--
-- The outbox gets the mail kinds `decision`, `confirmation` and
-- `promotion`; messages get the states `confirmed` and `declined` and the
-- reason `confirmation_unclear`.
--
-- SQLite cannot change a CHECK in place, so both tables are rebuilt as in
-- 0011: foreign keys off outside a transaction, then an explicit
-- BEGIN/COMMIT so the rebuild is all or nothing; the AUTOINCREMENT
-- high-water marks are carried over, so no id is ever handed out twice.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id INTEGER NOT NULL REFERENCES proposals (id),
    version     INTEGER NOT NULL,
    decision    TEXT NOT NULL,
    source      TEXT NOT NULL,
    decided_by  TEXT NOT NULL,
    note        TEXT,
    decided_at  INTEGER NOT NULL,
    is_current  INTEGER NOT NULL,
    notified_at INTEGER,
    confirmation TEXT,
    confirmed_at INTEGER,
    confirmation_message INTEGER REFERENCES messages (id),
    UNIQUE (proposal_id, version),
    CONSTRAINT decisions_decision_check CHECK (
        decision = 'accepted' OR decision = 'waitlisted' OR decision = 'rejected'),
    CONSTRAINT decisions_source_check CHECK (
        source = 'cli' OR source = 'mail' OR source = 'promotion'),
    CONSTRAINT decisions_confirmation_check CHECK (
        confirmation = 'confirmed' OR confirmation = 'declined')
);
CREATE UNIQUE INDEX decisions_current ON decisions (proposal_id) WHERE is_current = 1;

-- Chairs decide by mail in two steps: a mail of commands through a chair
-- token is answered with what was understood (a request) and a confirmation
-- token; "yes" through that token applies the request, once.
CREATE TABLE decision_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    chair           TEXT NOT NULL,
    commands        TEXT NOT NULL,
    message_id      INTEGER REFERENCES messages (id),
    created_at      INTEGER NOT NULL,
    applied_at      INTEGER,
    applied_message INTEGER REFERENCES messages (id)
);
CREATE TABLE chair_tokens (
    hash          TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    bound_address TEXT NOT NULL,
    request_id    INTEGER REFERENCES decision_requests (id),
    created_at    INTEGER NOT NULL,
    CONSTRAINT chair_tokens_kind_check CHECK (kind = 'command' OR kind = 'confirm')
);

CREATE TABLE _seq_0015 AS SELECT name, seq FROM sqlite_sequence
    WHERE name IN ('outbox', 'messages');

CREATE TABLE outbox_0015 (
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
    mailbox         TEXT,
    hold            TEXT,
    CONSTRAINT outbox_state_check CHECK (
        state = 'queued' OR state = 'sending' OR state = 'sent' OR state = 'failed'
        OR state = 'uncertain' OR state = 'suppressed'),
    CONSTRAINT outbox_kind_check CHECK (
        kind = 'ack' OR kind = 'draft' OR kind = 'closed' OR kind = 'help'
        OR kind = 'rejection' OR kind = 'updated' OR kind = 'withdrawn'
        OR kind = 'receipt' OR kind = 'released' OR kind = 'review_help'
        OR kind = 'assignment' OR kind = 'announcement' OR kind = 'reminder'
        OR kind = 'digest' OR kind = 'too_large_alert' OR kind = 'breaker_alert'
        OR kind = 'bounce_alert' OR kind = 'decision' OR kind = 'confirmation'
        OR kind = 'promotion' OR kind = 'chair_request' OR kind = 'chair_answer'),
    CONSTRAINT outbox_hold_check CHECK (hold = 'address_cap')
);
INSERT INTO outbox_0015 (id, dedup_key, kind, created_at, envelope_from, recipient, message_id,
                         subject, raw, state, attempts, next_attempt_at, last_error, sent_at,
                         cause_message, bounce_hash, thread_key, mailbox, hold)
    SELECT id, dedup_key, kind, created_at, envelope_from, recipient, message_id,
           subject, raw, state, attempts, next_attempt_at, last_error, sent_at,
           cause_message, bounce_hash, thread_key, mailbox, hold
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_0015 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_message_id ON outbox (message_id);
CREATE INDEX outbox_bounce_hash ON outbox (bounce_hash);
CREATE INDEX outbox_replies_to ON outbox (mailbox, created_at, cause_message)
    WHERE cause_message IS NOT NULL AND hold IS NULL;
CREATE INDEX outbox_replies_in_thread ON outbox (thread_key, created_at, cause_message)
    WHERE cause_message IS NOT NULL;
CREATE INDEX outbox_conversation_replies ON outbox (created_at, cause_message, thread_key)
    WHERE cause_message IS NOT NULL AND thread_key IS NOT NULL;
CREATE INDEX outbox_held ON outbox (hold) WHERE hold IS NOT NULL;

CREATE TABLE messages_0015 (
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
    arrived_at   BIGINT,
    CONSTRAINT messages_state_check CHECK (
        state = 'received' OR state = 'accepted' OR state = 'draft' OR state = 'updated'
        OR state = 'withdrawn' OR state = 'review_recorded' OR state = 'released'
        OR state = 'help' OR state = 'duplicate' OR state = 'auto_generated'
        OR state = 'bounce' OR state = 'rejected' OR state = 'quarantined'
        OR state = 'unsubscribed' OR state = 'needs_review'
        OR state = 'confirmed' OR state = 'declined' OR state = 'decision_requested'
        OR state = 'decided'),
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
        OR reason = 'released_by_chair' OR reason = 'panic'
        OR reason = 'confirmation_unclear' OR reason = 'chair_mismatch'
        OR reason = 'chair_confirmation_used' OR reason = 'chair_command_unclear'
        OR reason = 'chair_without_token')
);
INSERT INTO messages_0015 (id, source_key, received_at, size, sha256, message_id, from_addr,
                           subject, state, reason, detail, proposal_id, duplicate_of,
                           processed_at, disposed, arrived_at)
    SELECT id, source_key, received_at, size, sha256, message_id, from_addr,
           subject, state, reason, detail, proposal_id, duplicate_of,
           processed_at, disposed, arrived_at
    FROM messages;
DROP TABLE messages;
ALTER TABLE messages_0015 RENAME TO messages;
CREATE INDEX messages_state ON messages (state);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_undisposed ON messages (disposed) WHERE disposed = 0;
CREATE INDEX messages_state_reason ON messages (state, reason) WHERE reason IS NOT NULL;

DELETE FROM sqlite_sequence WHERE name IN ('outbox', 'messages');
INSERT INTO sqlite_sequence (name, seq) SELECT name, seq FROM _seq_0015;
DROP TABLE _seq_0015;

COMMIT;
PRAGMA foreign_keys = ON;
