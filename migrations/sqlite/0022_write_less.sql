-- Messages waiting to be filed at their source (IMAP MOVE to Processed or
-- Rejected, Maildir `cur/`) are listed in a table of their own instead of a
-- `disposed` flag on their row (issue 18). Filing a message then deletes a
-- small row instead of writing a new version of the message's row: on
-- PostgreSQL such an update logged the whole row and an entry in each of its
-- indexes again (the flag was in an index predicate, so never a HOT
-- update), and left a dead row behind. No foreign key: rows are written in
-- the transaction that stores the message and only ever deleted, and a
-- key check would lock the message's row on every insert.
CREATE TABLE messages_unfiled (
    id INTEGER PRIMARY KEY
);
INSERT INTO messages_unfiled (id) SELECT id FROM messages WHERE disposed = 0;
DROP INDEX messages_undisposed;
ALTER TABLE messages DROP COLUMN disposed;

-- Acknowledgments belong to no conversation (`thread_key` NULL); only the
-- per-thread reply count reads this index, always for a given thread, so
-- rows without one no longer take an entry (three per acknowledgment: it is
-- written queued, sending and sent).
DROP INDEX outbox_replies_in_thread;
CREATE INDEX outbox_replies_in_thread ON outbox (thread_key, created_at, cause_message)
    WHERE cause_message IS NOT NULL AND thread_key IS NOT NULL;

-- Queued mail is listed in `outbox_due`, kept by the triggers below, instead
-- of a partial index on `outbox.state`. On PostgreSQL an index that names
-- `state` (even in its predicate) makes every state change a new row
-- version with a new entry in each of the outbox's indexes; with the list
-- apart, claiming a mail and recording how it went touch no indexed column
-- and stay on the row's page (HOT). SQLite keeps the same shape so the
-- statements are one: for it the list costs what the partial index did.
-- The triggers keep the list exact whatever statement changes a state, so
-- no code path can forget it.
CREATE TABLE outbox_due (
    id INTEGER PRIMARY KEY
);
INSERT INTO outbox_due (id) SELECT id FROM outbox WHERE state = 'queued';
DROP INDEX outbox_queued;
CREATE TRIGGER outbox_due_insert AFTER INSERT ON outbox
WHEN NEW.state = 'queued'
BEGIN
    INSERT INTO outbox_due (id) VALUES (NEW.id);
END;
CREATE TRIGGER outbox_due_requeue AFTER UPDATE OF state ON outbox
WHEN NEW.state = 'queued' AND OLD.state <> 'queued'
BEGIN
    INSERT OR IGNORE INTO outbox_due (id) VALUES (NEW.id);
END;
CREATE TRIGGER outbox_due_leave AFTER UPDATE OF state ON outbox
WHEN OLD.state = 'queued' AND NEW.state <> 'queued'
BEGIN
    DELETE FROM outbox_due WHERE id = OLD.id;
END;
CREATE TRIGGER outbox_due_delete AFTER DELETE ON outbox
BEGIN
    DELETE FROM outbox_due WHERE id = OLD.id;
END;
