-- Leases: which cfpd instance does the work that must run in one place at a
-- time (reading the mailbox, intake, the reminder scheduler, the sender).
-- A holder renews its row before expires_at; another instance may take the
-- row over only once expires_at has passed. Times are milliseconds since the
-- Unix epoch, on the database server's clock.

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL,
    generation  BIGINT NOT NULL
);
