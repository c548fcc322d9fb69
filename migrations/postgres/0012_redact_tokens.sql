-- Issue 14 item 5: a mail that has done its work (sent, failed for good,
-- suppressed) keeps no reply, VERP or unsubscribe token in its stored bytes;
-- cfpd now erases them when the row reaches that state. The rows already
-- there are listed here and redacted by cfpd at its next start
-- (store::outbox::redact_backlog: tokens cannot be cut out of the bytes
-- in SQL). Queued and uncertain mail keeps its tokens until sent.
CREATE TABLE outbox_redact_pending (
    id BIGINT PRIMARY KEY
);
INSERT INTO outbox_redact_pending (id)
    SELECT id FROM outbox
    WHERE state = 'sent' OR state = 'failed' OR state = 'suppressed';
