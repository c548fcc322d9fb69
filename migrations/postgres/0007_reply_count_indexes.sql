-- Reply caps are counted for every intake batch. These partial indexes cover
-- those counts (the filtered columns are in the index too), so counting never
-- reads the outbox rows themselves: they hold whole mails, and reading each
-- one made counting the slowest part of intake once the outbox held a few
-- thousand acks.
DROP INDEX outbox_created;
DROP INDEX outbox_thread;
CREATE INDEX outbox_replies_to ON outbox (recipient, created_at, cause_message)
    WHERE cause_message IS NOT NULL;
CREATE INDEX outbox_replies_in_thread ON outbox (thread_key, created_at, cause_message)
    WHERE cause_message IS NOT NULL;
CREATE INDEX outbox_conversation_replies ON outbox (created_at, cause_message, thread_key)
    WHERE cause_message IS NOT NULL AND thread_key IS NOT NULL;
