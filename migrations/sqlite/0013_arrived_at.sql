-- Arrival time (issue 14): deadlines are judged on when a message reached the
-- mailbox, not on when cfpd got round to it. arrived_at is the source's own
-- delivery time (IMAP INTERNALDATE, a Maildir file's delivery time), never
-- later than received_at (when cfpd fetched it); the Date: header is never
-- used (a sender can write any date). Milliseconds since the Unix epoch.
--
-- NULL means "arrived when fetched": rows stored before this column existed
-- get their received_at below, and a row written without it (a quarantined
-- message, never judged) reads as received_at.
ALTER TABLE messages ADD COLUMN arrived_at BIGINT;
UPDATE messages SET arrived_at = received_at;
