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
    id BIGINT PRIMARY KEY
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

-- Queued mail is listed in `outbox_due`, kept by the trigger below, instead
-- of a partial index on `outbox.state`. An index that names `state` (even in
-- its predicate) makes every state change a new row version with a new
-- entry in each of the outbox's indexes; with the list apart, claiming a
-- mail and recording how it went touch no indexed column and, with room
-- left on the row's page (fillfactor), stay there (HOT): a short WAL record
-- each instead of the row and six index entries twice. The trigger keeps
-- the list exact whatever statement changes a state, so no code path can
-- forget it.
CREATE TABLE outbox_due (
    id BIGINT PRIMARY KEY
);
INSERT INTO outbox_due (id) SELECT id FROM outbox WHERE state = 'queued';
DROP INDEX outbox_queued;
CREATE FUNCTION outbox_due_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state = 'queued' THEN
            INSERT INTO outbox_due (id) VALUES (NEW.id);
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.state = 'queued' AND OLD.state <> 'queued' THEN
            INSERT INTO outbox_due (id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
        ELSIF OLD.state = 'queued' AND NEW.state <> 'queued' THEN
            DELETE FROM outbox_due WHERE id = OLD.id;
        END IF;
    ELSE
        DELETE FROM outbox_due WHERE id = OLD.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_due_track AFTER INSERT OR DELETE OR UPDATE OF state ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_due_track();
-- Room on each page for the versions a mail's claim and settlement write.
ALTER TABLE outbox SET (fillfactor = 50);
