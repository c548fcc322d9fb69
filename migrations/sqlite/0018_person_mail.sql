-- Reach a human (issue 16, item 4): mail a person wrote that cfpd cannot
-- act on, one row per message, until it has been forwarded to
-- [conference] contact. A thread (`thread`: the proposal it is about, else
-- the sender's mailbox) is forwarded at most once per day; mail that
-- arrives in between keeps `forwarded_at` NULL and goes out with the next
-- forward of its thread (at the next mail, or when the day is over), so
-- nothing is lost. `body` is the text quoted in the forward, reply tokens
-- erased. Adds a table only; widens nothing.
CREATE TABLE person_mail (
    message_id   INTEGER PRIMARY KEY REFERENCES messages (id),
    thread       TEXT NOT NULL,
    sender       TEXT NOT NULL,
    sender_name  TEXT,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    proposal_id  INTEGER,
    arrived_at   INTEGER NOT NULL,
    forwarded_at INTEGER
);
CREATE INDEX person_mail_thread ON person_mail (thread, forwarded_at);
CREATE INDEX person_mail_waiting ON person_mail (forwarded_at) WHERE forwarded_at IS NULL;
