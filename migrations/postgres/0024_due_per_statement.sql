-- Queued mail enters `outbox_due` once per INSERT statement, not once per
-- row (issue 18). The row trigger of 0022 ran a PL/pgSQL call and a
-- one-row INSERT for every queued mail: for a backlog's acknowledgments,
-- queued a thousand to a statement, a third of what inserting them cost
-- (BENCHMARKS.md, "Intake round 2, seventh pass"). An INSERT now adds its
-- queued rows with one INSERT … SELECT over the rows it inserted (a
-- transition table; rows an ON CONFLICT skipped or updated are not in it).
-- State changes and deletes keep the row trigger: PostgreSQL allows no
-- transition table on a trigger limited to a column (`UPDATE OF state`),
-- and without that limit every update of a mail would fire it. The list
-- stays exact whatever statement changes the outbox. SQLite keeps its
-- row triggers, which cost it no more than the index it replaced.
-- The row trigger's function (0022) stays as it is: the trigger below no
-- longer fires on INSERT, so its INSERT branch is left unused.
DROP TRIGGER outbox_due_track ON outbox;
CREATE TRIGGER outbox_due_track AFTER DELETE OR UPDATE OF state ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_due_track();

CREATE FUNCTION outbox_due_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_due (id) SELECT id FROM added WHERE state = 'queued';
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_due_added AFTER INSERT ON outbox
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_due_added();
