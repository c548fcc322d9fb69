-- A proposal version's fields and topics, compressed by cfpd
-- (`store::packed::record`: a format byte, then a zstd frame). On a
-- backlog their JSON was the largest thing written per proposal (issue 18);
-- PostgreSQL compresses only rows above about 2 KB. Versions written from
-- now on keep their fields and topics here and '' in the `fields` and
-- `topics` columns; older versions keep theirs as they are and `record`
-- NULL, which is what tells the two apart. `problems` stays plain JSON: it
-- is short, and listing versions' completeness reads it alone.
ALTER TABLE proposal_versions ADD COLUMN record BYTEA;

-- Token hashes are the first 128 bits of SHA-256 (`token::hash`), half the
-- bytes in the table and in its index for every token and every VERP
-- address cfpd mails; what 128 bits keep secret is said there. Hashes
-- stored in full are cut to the same prefix, so tokens already mailed keep
-- working. (Other values, written by tests or by hand, are left as they are.)
UPDATE tokens SET hash = substr(hash, 1, 32) WHERE length(hash) = 64;
UPDATE unsubscribe_tokens SET hash = substr(hash, 1, 32) WHERE length(hash) = 64;
UPDATE chair_tokens SET hash = substr(hash, 1, 32) WHERE length(hash) = 64;
UPDATE bid_tokens SET hash = substr(hash, 1, 32) WHERE length(hash) = 64;
UPDATE outbox SET bounce_hash = substr(bounce_hash, 1, 32) WHERE length(bounce_hash) = 64;

-- Only reviewers' tokens name an assignment; a speaker's (one per
-- acknowledgment) took an entry for NULL.
DROP INDEX tokens_assignment;
CREATE INDEX tokens_assignment ON tokens (assignment_id) WHERE assignment_id IS NOT NULL;

-- A speaker's name is updated when a later mail gives another one; room on
-- the page keeps that update in place (HOT), without new entries in the
-- table's two indexes. Applies to pages written from now on.
ALTER TABLE speakers SET (fillfactor = 70);
