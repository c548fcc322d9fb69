-- Widens the CHECKs of `outbox` and `messages` for the chair's desk
-- (issue 16) and bidding by mail (issue 17), in one migration:
--   outbox_state_check    + 'cancelled' (never sent; a chair cancelled it)
--   outbox_hold_check     + 'chair' (held by a chair until released)
--   outbox_kind_check     + 'chair_edit', 'restored' (a speaker told of a
--                           chair's edit, of a withdrawal undone),
--                           'forward', 'person_will_answer' (mail a person
--                           wrote, forwarded to [conference] contact, and
--                           its sender told), 'group_mail' (`cfpd mail`),
--                           'bid_invite', 'bid_receipt' (`cfpd bids open`
--                           and what a reply recorded)
--   messages_state_check  + 'for_person' (forwarded to a person),
--                           'bids_recorded'
--   messages_reason_check + 'bids_not_understood'
-- (A forged bid is refused with the existing reason `reviewer_mismatch`.)
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
        'promotion', 'chair_request', 'chair_answer', 'chair_edit', 'restored', 'forward',
        'person_will_answer', 'group_mail', 'bid_invite', 'bid_receipt'));
ALTER TABLE messages DROP CONSTRAINT messages_state_check;
ALTER TABLE messages ADD CONSTRAINT messages_state_check CHECK (state IN (
        'received', 'accepted', 'draft', 'updated', 'withdrawn', 'review_recorded',
        'released', 'help', 'duplicate', 'auto_generated', 'bounce', 'rejected',
        'quarantined', 'unsubscribed', 'needs_review', 'confirmed', 'declined',
        'decision_requested', 'decided', 'for_person', 'bids_recorded'));
ALTER TABLE messages DROP CONSTRAINT messages_reason_check;
ALTER TABLE messages ADD CONSTRAINT messages_reason_check CHECK (reason IN (
        'sender_mismatch', 'update_not_understood', 'proposal_withdrawn',
        'withdraw_without_token', 'too_large', 'attachments', 'no_sender', 'cfp_closed',
        'reviewer_mismatch', 'token_expired', 'review_without_token',
        'assignment_mismatch', 'assignment_released', 'review_closed', 'review_form',
        'review_of_withdrawn', 'bounce', 'auto-reply', 'mailing-list', 'feedback-report',
        'own-mail', 'system', 'return-path', 'unparseable', 'duplicate', 'dmarc_fail',
        'help', 'not_a_proposal', 'late_entry', 'missing_fields', 'conflict', 'decline',
        'unsubscribe', 'unknown_unsubscribe_token', 'released_by_chair', 'panic',
        'confirmation_unclear', 'chair_mismatch', 'chair_confirmation_used',
        'chair_command_unclear', 'chair_without_token', 'bids_not_understood'));
