-- Bidding by mail (issue 17) widens three CHECKs: the outbox gets the mail
-- kinds `bid_invite` (the bidding mail) and `bid_receipt` (what a reply
-- recorded); messages get the state `bids_recorded` and the reason
-- `bids_not_understood` (a reply with no bid that could be read). A forged
-- bid is refused with the existing reason `reviewer_mismatch`.
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
