-- Reviewers and their assignments.

CREATE TABLE reviewers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    email      TEXT NOT NULL UNIQUE,
    name       TEXT,
    topics     TEXT NOT NULL,
    min_load   INTEGER NOT NULL,
    max_load   INTEGER NOT NULL,
    conflicts  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE assignments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id INTEGER NOT NULL REFERENCES proposals (id),
    reviewer_id INTEGER NOT NULL REFERENCES reviewers (id),
    affinity    INTEGER NOT NULL,
    state       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (proposal_id, reviewer_id)
);
CREATE INDEX assignments_reviewer ON assignments (reviewer_id);

-- Per-proposal override of reviewers_per_proposal (NULL: the configured K).
ALTER TABLE proposals ADD COLUMN reviewers_needed INTEGER;
