-- Bidding by mail (issue 17): `cfpd bids open` sends each reviewer a list of
-- the proposals of their topics with a reply token (only its hash is kept,
-- in `bid_tokens`, bound to the reviewer's address); their reply records one
-- bid per proposal. A later reply replaces all of a reviewer's bids, so
-- `bids` holds only the current ones, with the message that said them.
-- Widens nothing (new tables only; `bids_kind_check` is new).
CREATE TABLE bids (
    reviewer_id INTEGER NOT NULL REFERENCES reviewers (id),
    proposal_id INTEGER NOT NULL REFERENCES proposals (id),
    kind        TEXT NOT NULL,
    message_id  INTEGER REFERENCES messages (id),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (reviewer_id, proposal_id),
    CONSTRAINT bids_kind_check CHECK (
        kind = 'yes' OR kind = 'maybe' OR kind = 'no' OR kind = 'conflict')
);
CREATE INDEX bids_proposal ON bids (proposal_id);

CREATE TABLE bid_tokens (
    hash          TEXT PRIMARY KEY,
    reviewer_id   INTEGER NOT NULL REFERENCES reviewers (id),
    bound_address TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX bid_tokens_reviewer ON bid_tokens (reviewer_id);
