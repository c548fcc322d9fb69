-- A proposal version's fields and topics, compressed by cfpd
-- (`store::packed::record`: a format byte, then a zstd frame). On a
-- backlog their JSON was the largest thing written per proposal (issue 18);
-- PostgreSQL compresses only rows above about 2 KB. Versions written from
-- now on keep their fields and topics here and '' in the `fields` and
-- `topics` columns; older versions keep theirs as they are and `record`
-- NULL, which is what tells the two apart. `problems` stays plain JSON: it
-- is short, and listing versions' completeness reads it alone.
ALTER TABLE proposal_versions ADD COLUMN record BYTEA;
