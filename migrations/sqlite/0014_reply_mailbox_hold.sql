-- Reply caps count per mailbox, and a speaker's first acknowledgment over
-- the cap is held instead of dropped (issue 14).
--
-- `mailbox` is the recipient as the caps count it (`model::mailbox_key`:
-- local part lower-cased without its +tag, IDNA domain), written with every
-- queued mail. Rows queued before this migration get the nearest SQL can do
-- (lower-cased, +tag removed; their domains are already ASCII): only the
-- last 24 hours of them matter, for the caps.
--
-- `hold` is why a queued mail is held back (NULL: it may be sent); the
-- sender skips held rows, and intake releases them (hold back to NULL) when
-- the recipient's window has room. Added as columns, so no table rebuild.
ALTER TABLE outbox ADD COLUMN mailbox TEXT;
ALTER TABLE outbox ADD COLUMN hold TEXT
    CONSTRAINT outbox_hold_check CHECK (hold = 'address_cap');
UPDATE outbox SET mailbox = lower(
    CASE WHEN instr(recipient, '+') > 0 AND instr(recipient, '+') < instr(recipient, '@')
         THEN substr(recipient, 1, instr(recipient, '+') - 1)
              || substr(recipient, instr(recipient, '@'))
         ELSE recipient END);
DROP INDEX outbox_replies_to;
CREATE INDEX outbox_replies_to ON outbox (mailbox, created_at, cause_message)
    WHERE cause_message IS NOT NULL AND hold IS NULL;
CREATE INDEX outbox_held ON outbox (hold) WHERE hold IS NOT NULL;
