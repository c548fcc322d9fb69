-- Status (issue 8): what `cfpd status` and every instance's /metrics read
-- from the database.
--
-- heartbeats: when the lease holder last polled the mailbox successfully
-- (one row, name 'poll'; written once per intake cycle, outside the intake
-- transaction), so another process can tell whether the active instance is
-- still reading mail. Times are milliseconds since the Unix epoch, on the
-- database server's clock (like leases).
CREATE TABLE heartbeats (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    at     BIGINT NOT NULL
);

-- Messages by state and reason are counted at every scrape. The rows hold
-- whole mails, so the count must come from an index alone; only messages
-- with a reason code are in this one (accepted mail, the bulk, is not), so
-- intake's writes hardly pay for it. Counts per state come from
-- messages_state.
CREATE INDEX messages_state_reason ON messages (state, reason) WHERE reason IS NOT NULL;
