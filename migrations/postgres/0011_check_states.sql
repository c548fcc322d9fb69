-- Every stored state, reason and kind column gets a CHECK constraint listing
-- exactly the spellings of its enum in `src/model/` (a unit test holds these
-- lists to the enums). Adding a constraint checks the existing rows, so an
-- upgrade fails here, loudly and without a change, rather than keep a value
-- the code could not read.
ALTER TABLE messages ADD CONSTRAINT messages_state_check CHECK (state IN (
        'received', 'accepted', 'draft', 'updated', 'withdrawn', 'review_recorded',
        'released', 'help', 'duplicate', 'auto_generated', 'bounce', 'rejected',
        'quarantined', 'unsubscribed', 'needs_review'));
ALTER TABLE messages ADD CONSTRAINT messages_reason_check CHECK (reason IN (
        'sender_mismatch', 'update_not_understood', 'proposal_withdrawn',
        'withdraw_without_token', 'too_large', 'attachments', 'no_sender', 'cfp_closed',
        'reviewer_mismatch', 'token_expired', 'review_without_token',
        'assignment_mismatch', 'assignment_released', 'review_closed', 'review_form',
        'review_of_withdrawn', 'bounce', 'auto-reply', 'mailing-list', 'feedback-report',
        'own-mail', 'system', 'return-path', 'unparseable', 'duplicate', 'dmarc_fail',
        'help', 'not_a_proposal', 'late_entry', 'missing_fields', 'conflict', 'decline',
        'unsubscribe', 'unknown_unsubscribe_token', 'released_by_chair', 'panic'));
ALTER TABLE proposals ADD CONSTRAINT proposals_status_check CHECK (status IN (
        'submitted', 'draft', 'late', 'withdrawn'));
ALTER TABLE tokens ADD CONSTRAINT tokens_kind_check CHECK (kind IN (
        'proposal', 'assignment'));
ALTER TABLE outbox ADD CONSTRAINT outbox_state_check CHECK (state IN (
        'queued', 'sending', 'sent', 'failed', 'uncertain', 'suppressed'));
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN (
        'ack', 'draft', 'closed', 'help', 'rejection', 'updated', 'withdrawn', 'receipt',
        'released', 'review_help', 'assignment', 'announcement', 'reminder', 'digest',
        'too_large_alert', 'breaker_alert', 'bounce_alert'));
ALTER TABLE assignments ADD CONSTRAINT assignments_state_check CHECK (state IN (
        'active', 'declined', 'conflict'));
