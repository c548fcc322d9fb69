-- Reviews by email reply: every recorded review version (history), with one
-- current version per assignment; released assignments (decline/conflict)
-- with when, why and who took over, for the chair's digest.

CREATE TABLE reviews (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment_id      INTEGER NOT NULL REFERENCES assignments (id),
    version            INTEGER NOT NULL,
    is_current         INTEGER NOT NULL,
    score              INTEGER NOT NULL,
    confidence         INTEGER,
    comments_speaker   TEXT NOT NULL,
    comments_committee TEXT NOT NULL,
    message_id         INTEGER REFERENCES messages (id),
    created_at         INTEGER NOT NULL,
    UNIQUE (assignment_id, version)
);
-- At most one current version per assignment.
CREATE UNIQUE INDEX reviews_current ON reviews (assignment_id) WHERE is_current = 1;

-- Set when a reviewer declines or declares a conflict (state becomes
-- 'declined' or 'conflict'): the instant, the inbound message that did it,
-- and the assignment created in its place (NULL: nobody eligible was left).
ALTER TABLE assignments ADD COLUMN released_at INTEGER;
ALTER TABLE assignments ADD COLUMN released_message INTEGER;
ALTER TABLE assignments ADD COLUMN replacement_id INTEGER;
CREATE INDEX assignments_released ON assignments (released_at);
CREATE INDEX assignments_proposal ON assignments (proposal_id);

-- The assignment a reply token belongs to is looked up by token; the
-- assignment mails we sent are looked up by Message-ID (to refuse a reply
-- whose In-Reply-To names a different assignment than its token).
CREATE INDEX tokens_assignment ON tokens (assignment_id);
CREATE INDEX outbox_message_id ON outbox (message_id);
