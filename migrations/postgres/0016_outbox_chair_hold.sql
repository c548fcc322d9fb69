-- Chairs hold, release and cancel queued mail (issue 16, "Fix").
--
-- Widens three CHECKs of `outbox`:
--   outbox_hold_check  + 'chair'      (held by a chair until released)
--   outbox_state_check + 'cancelled'  (never sent; a chair cancelled it)
--   outbox_kind_check  + 'chair_edit' (a speaker told of a chair's edit)
--                      + 'restored'   (a speaker told their withdrawal was undone)
ALTER TABLE outbox DROP CONSTRAINT outbox_hold_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_hold_check CHECK (hold IN ('address_cap', 'chair'));
ALTER TABLE outbox DROP CONSTRAINT outbox_state_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_state_check CHECK (state IN (
        'queued', 'sending', 'sent', 'failed', 'uncertain', 'suppressed', 'cancelled'));
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN (
        'ack', 'draft', 'closed', 'help', 'rejection', 'updated', 'withdrawn', 'receipt',
        'released', 'review_help', 'assignment', 'announcement', 'reminder', 'digest',
        'too_large_alert', 'breaker_alert', 'bounce_alert', 'decision', 'confirmation',
        'promotion', 'chair_request', 'chair_answer', 'chair_edit', 'restored'));
