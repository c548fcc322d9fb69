-- Reach a human; mail a group (issue 16, items 4 and 5). This migration
-- only WIDENS two CHECK constraints (nothing else changes):
--   outbox.kind      + 'forward', 'person_will_answer', 'group_mail'
--   messages.state   + 'for_person'
-- (see the SQLite twin for what they mean).
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN (
        'ack', 'draft', 'closed', 'help', 'rejection', 'updated', 'withdrawn', 'receipt',
        'released', 'review_help', 'assignment', 'announcement', 'reminder', 'digest',
        'too_large_alert', 'breaker_alert', 'bounce_alert', 'decision', 'confirmation',
        'promotion', 'chair_request', 'chair_answer', 'chair_edit', 'restored',
        'forward', 'person_will_answer',
        'group_mail'));
ALTER TABLE messages DROP CONSTRAINT messages_state_check;
ALTER TABLE messages ADD CONSTRAINT messages_state_check CHECK (state IN (
        'received', 'accepted', 'draft', 'updated', 'withdrawn', 'review_recorded',
        'released', 'help', 'duplicate', 'auto_generated', 'bounce', 'rejected',
        'quarantined', 'unsubscribed', 'needs_review', 'confirmed', 'declined',
        'decision_requested', 'decided', 'for_person'));
