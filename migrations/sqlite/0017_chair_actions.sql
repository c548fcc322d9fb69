-- no-transaction
-- Chairs correct mistakes (issue 16, "Fix"), and every correction is kept.
--
-- New: `chair_actions`, one row per change a chair made by hand (who, when,
-- what, on which proposal/reviewer/mail, and the override reason if any);
-- its CHECK `chair_actions_action_check` lists `model::ChairAction`.
-- New columns (no rebuild): `proposal_versions.edited_by` (the chair who
-- wrote a version; NULL: the speaker's mail), `proposals.withdrawn_from`
-- (the status a withdrawal left, so `cfpd proposals restore` can return to
-- it; CHECK `proposals_withdrawn_from_check` lists `model::ProposalStatus`),
-- `reviewers.removed_at` (a reviewer taken off the roster).
-- Widens: `assignments_state_check` + 'removed' (a chair took the reviewer
-- off the proposal). SQLite cannot widen a CHECK in place, so `assignments`
-- is rebuilt as in 0011, with its AUTOINCREMENT high-water mark carried over.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE chair_actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    chair       TEXT NOT NULL,
    action      TEXT NOT NULL,
    proposal_id INTEGER REFERENCES proposals (id),
    reviewer    TEXT,
    outbox_id   INTEGER,
    detail      TEXT NOT NULL,
    override    TEXT,
    CONSTRAINT chair_actions_action_check CHECK (
        action = 'edit' OR action = 'restore' OR action = 'assign' OR action = 'unassign'
        OR action = 'remove_reviewer' OR action = 'hold' OR action = 'release'
        OR action = 'cancel')
);
CREATE INDEX chair_actions_proposal ON chair_actions (proposal_id) WHERE proposal_id IS NOT NULL;

ALTER TABLE proposal_versions ADD COLUMN edited_by TEXT;
ALTER TABLE proposals ADD COLUMN withdrawn_from TEXT
    CONSTRAINT proposals_withdrawn_from_check CHECK (
        withdrawn_from = 'submitted' OR withdrawn_from = 'draft' OR withdrawn_from = 'late'
        OR withdrawn_from = 'withdrawn');
ALTER TABLE reviewers ADD COLUMN removed_at INTEGER;

CREATE TABLE _seq_0017 AS SELECT name, seq FROM sqlite_sequence WHERE name = 'assignments';

CREATE TABLE assignments_0017 (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id      INTEGER NOT NULL REFERENCES proposals (id),
    reviewer_id      INTEGER NOT NULL REFERENCES reviewers (id),
    affinity         INTEGER NOT NULL,
    state            TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    released_at      INTEGER,
    released_message INTEGER,
    replacement_id   INTEGER,
    UNIQUE (proposal_id, reviewer_id),
    CONSTRAINT assignments_state_check CHECK (
        state = 'active' OR state = 'declined' OR state = 'conflict' OR state = 'removed')
);
INSERT INTO assignments_0017 (id, proposal_id, reviewer_id, affinity, state, created_at,
                              released_at, released_message, replacement_id)
    SELECT id, proposal_id, reviewer_id, affinity, state, created_at,
           released_at, released_message, replacement_id
    FROM assignments;
DROP TABLE assignments;
ALTER TABLE assignments_0017 RENAME TO assignments;
CREATE INDEX assignments_reviewer ON assignments (reviewer_id);
CREATE INDEX assignments_released ON assignments (released_at);
CREATE INDEX assignments_proposal ON assignments (proposal_id);

DELETE FROM sqlite_sequence WHERE name = 'assignments';
INSERT INTO sqlite_sequence (name, seq) SELECT name, seq FROM _seq_0017;
DROP TABLE _seq_0017;

COMMIT;
PRAGMA foreign_keys = ON;
