-- Reminders: the ledger (one row per rule, occurrence and recipient, written
-- in the same transaction that queues the mail), per-rule checkpoints for
-- catch-up, and the announcement audience's unsubscriptions.
-- Times are milliseconds since the Unix epoch.

CREATE TABLE reminder_ledger (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    rule       TEXT NOT NULL,
    occurrence INTEGER NOT NULL,
    recipient  TEXT NOT NULL,
    dedup_key  TEXT NOT NULL,
    items      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (rule, occurrence, recipient)
);

-- Every occurrence of a rule at or before handled_until was handled (fired,
-- or skipped as no longer meaningful).
CREATE TABLE reminder_checkpoints (
    rule           TEXT PRIMARY KEY,
    handled_until  INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- Hashes of the secrets in List-Unsubscribe addresses (cfp+u-<token>@…).
CREATE TABLE unsubscribe_tokens (
    hash       TEXT PRIMARY KEY,
    address    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE unsubscribes (
    address    TEXT PRIMARY KEY,
    message_id INTEGER,
    created_at INTEGER NOT NULL
);
