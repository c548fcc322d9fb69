-- Every acknowledgment updated this index at a random place (recipients are
-- unrelated addresses), and nothing needs it any more: per-recipient reply
-- counts use outbox_replies_to (0007), the review-form help count asks for
-- replies only and uses it too, and suppressing mail to undeliverable
-- addresses starts from the queued rows (outbox_due).
DROP INDEX outbox_recipient;
