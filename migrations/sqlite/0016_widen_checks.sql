-- no-transaction
-- Widens the CHECKs of `outbox` and `messages` for the chair's desk
-- (issue 16) and bidding by mail (issue 17), all in one rebuild:
--   outbox_state_check    + 'cancelled' (never sent; a chair cancelled it)
--   outbox_hold_check     + 'chair' (held by a chair until released)
--   outbox_kind_check     + 'chair_edit', 'restored' (a speaker told of a
--                           chair's edit, of a withdrawal undone),
--                           'forward', 'person_will_answer' (mail a person
--                           wrote, forwarded to [conference] contact, and
--                           its sender told), 'group_mail' (`cfpd mail`),
--                           'bid_invite', 'bid_receipt' (`cfpd bids open`
--                           and what a reply recorded)
--   messages_state_check  + 'for_person' (forwarded to a person),
--                           'bids_recorded'
--   messages_reason_check + 'bids_not_understood'
-- (A forged bid is refused with the existing reason `reviewer_mismatch`.)
--
-- SQLite cannot change a CHECK in place, so both tables are rebuilt as in
-- 0015 (foreign keys off outside a transaction, then an explicit
-- BEGIN/COMMIT; the AUTOINCREMENT high-water marks are carried over, so no
-- id is handed out twice).
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE _seq_0016 AS SELECT name, seq FROM sqlite_sequence
    WHERE name IN ('outbox', 'messages');

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
        OR kind = 'chair_edit' OR kind = 'restored'
        OR kind = 'forward' OR kind = 'person_will_answer' OR kind = 'group_mail'
        OR kind = 'bid_invite' OR kind = 'bid_receipt'),
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

CREATE TABLE messages_0016 (
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
        OR state = 'decided' OR state = 'for_person' OR state = 'bids_recorded'),
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
        OR reason = 'chair_without_token' OR reason = 'bids_not_understood')
);
INSERT INTO messages_0016 (id, source_key, received_at, size, sha256, message_id, from_addr,
                           subject, state, reason, detail, proposal_id, duplicate_of,
                           processed_at, disposed, arrived_at)
    SELECT id, source_key, received_at, size, sha256, message_id, from_addr,
           subject, state, reason, detail, proposal_id, duplicate_of,
           processed_at, disposed, arrived_at
    FROM messages;
DROP TABLE messages;
ALTER TABLE messages_0016 RENAME TO messages;
CREATE INDEX messages_state ON messages (state);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_undisposed ON messages (disposed) WHERE disposed = 0;
CREATE INDEX messages_state_reason ON messages (state, reason) WHERE reason IS NOT NULL;

DELETE FROM sqlite_sequence WHERE name IN ('outbox', 'messages');
INSERT INTO sqlite_sequence (name, seq) SELECT name, seq FROM _seq_0016;
DROP TABLE _seq_0016;

COMMIT;
PRAGMA foreign_keys = ON;
