-- no-transaction
-- Chairs hold, release and cancel queued mail (issue 16, "Fix").
--
-- Widens three CHECKs of `outbox`:
--   outbox_hold_check  + 'chair'      (held by a chair until released)
--   outbox_state_check + 'cancelled'  (never sent; a chair cancelled it)
--   outbox_kind_check  + 'chair_edit' (a speaker told of a chair's edit)
--                      + 'restored'   (a speaker told their withdrawal was undone)
--
-- SQLite cannot change a CHECK in place, so the table is rebuilt as in 0015:
-- foreign keys off outside a transaction, an explicit BEGIN/COMMIT, and the
-- AUTOINCREMENT high-water mark carried over (no id is handed out twice).
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE _seq_0016 AS SELECT name, seq FROM sqlite_sequence WHERE name = 'outbox';

CREATE TABLE outbox_0016 (
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
        OR state = 'uncertain' OR state = 'suppressed' OR state = 'cancelled'),
    CONSTRAINT outbox_kind_check CHECK (
        kind = 'ack' OR kind = 'draft' OR kind = 'closed' OR kind = 'help'
        OR kind = 'rejection' OR kind = 'updated' OR kind = 'withdrawn'
        OR kind = 'receipt' OR kind = 'released' OR kind = 'review_help'
        OR kind = 'assignment' OR kind = 'announcement' OR kind = 'reminder'
        OR kind = 'digest' OR kind = 'too_large_alert' OR kind = 'breaker_alert'
        OR kind = 'bounce_alert' OR kind = 'decision' OR kind = 'confirmation'
        OR kind = 'promotion' OR kind = 'chair_request' OR kind = 'chair_answer'
        OR kind = 'chair_edit' OR kind = 'restored'),
    CONSTRAINT outbox_hold_check CHECK (hold = 'address_cap' OR hold = 'chair')
);
INSERT INTO outbox_0016 (id, dedup_key, kind, created_at, envelope_from, recipient, message_id,
                         subject, raw, state, attempts, next_attempt_at, last_error, sent_at,
                         cause_message, bounce_hash, thread_key, mailbox, hold)
    SELECT id, dedup_key, kind, created_at, envelope_from, recipient, message_id,
           subject, raw, state, attempts, next_attempt_at, last_error, sent_at,
           cause_message, bounce_hash, thread_key, mailbox, hold
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_0016 RENAME TO outbox;
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

DELETE FROM sqlite_sequence WHERE name = 'outbox';
INSERT INTO sqlite_sequence (name, seq) SELECT name, seq FROM _seq_0016;
DROP TABLE _seq_0016;

COMMIT;
PRAGMA foreign_keys = ON;
