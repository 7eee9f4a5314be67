-- +goose Up
-- Notices are queued as drafts and rendered by the worker that sends them:
-- a notice's raw message is written when it is rendered, its draft (what it
-- says, as JSON, without the message text that messages already holds)
-- until then. Every row has one or the other.
ALTER TABLE outbound_mails ALTER COLUMN raw DROP NOT NULL;
ALTER TABLE outbound_mails ADD COLUMN draft json;
ALTER TABLE outbound_mails ADD CONSTRAINT outbound_mails_raw_or_draft
    CHECK (raw IS NOT NULL OR draft IS NOT NULL);

-- No query reads notices by recipient alone any more: the per-recipient cap
-- counts with outbound_mails_capped_idx, the threads go by ticket. One
-- index fewer to write for every notice.
DROP INDEX outbound_mails_recipient_idx;

-- +goose Down
-- A notice still to be sent has no raw message yet: refuse rather than lose
-- it; the workers render and send them in seconds. Notices that will never
-- be sent (suppressed, or failed before they could be rendered) keep their
-- row (recipient, subject, state, error) with an empty message.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM outbound_mails WHERE raw IS NULL AND state = 'pending') THEN
        RAISE EXCEPTION 'outbound_mails holds notices not yet rendered: let postdesk serve send them, then migrate down';
    END IF;
END
$$;
-- +goose StatementEnd
UPDATE outbound_mails SET raw = '' WHERE raw IS NULL;
CREATE INDEX outbound_mails_recipient_idx ON outbound_mails (lower(recipient), created_at);
ALTER TABLE outbound_mails DROP CONSTRAINT outbound_mails_raw_or_draft;
ALTER TABLE outbound_mails DROP COLUMN draft;
ALTER TABLE outbound_mails ALTER COLUMN raw SET NOT NULL;
