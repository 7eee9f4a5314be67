-- +goose Up
-- Notices are queued as drafts and rendered by the worker that sends them:
-- a notice's draft (what it says, as JSON, without the message text that
-- messages already holds) until then, its rendered MIME message after.
-- Every row has one or the other.
--
-- The message column is renamed from raw to rendered on purpose: a postdesk
-- of an earlier version still running against this schema (a replica not
-- yet upgraded) then fails on every statement that touches it, loudly and
-- safely (mail is answered 451 and retried; its worker sends nothing),
-- instead of sending a draft's empty message.
ALTER TABLE outbound_mails RENAME COLUMN raw TO rendered;
ALTER TABLE outbound_mails ALTER COLUMN rendered DROP NOT NULL;
ALTER TABLE outbound_mails ADD COLUMN draft json;
ALTER TABLE outbound_mails ADD CONSTRAINT outbound_mails_rendered_or_draft
    CHECK (rendered IS NOT NULL OR draft IS NOT NULL);

-- No query reads notices by recipient alone any more: the per-recipient cap
-- counts with outbound_mails_capped_idx, the threads go by ticket. One
-- index fewer to write for every notice.
DROP INDEX outbound_mails_recipient_idx;

-- +goose Down
-- A notice still to be sent has no rendered message yet: refuse rather than
-- lose it; the workers render and send them in seconds. Notices that will
-- never be sent (suppressed, or failed before they could be rendered) keep
-- their row (recipient, subject, state, error) with an empty message.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM outbound_mails WHERE rendered IS NULL AND state = 'pending') THEN
        RAISE EXCEPTION 'outbound_mails holds notices not yet rendered: let postdesk serve send them, then migrate down';
    END IF;
END
$$;
-- +goose StatementEnd
UPDATE outbound_mails SET rendered = '' WHERE rendered IS NULL;
CREATE INDEX outbound_mails_recipient_idx ON outbound_mails (lower(recipient), created_at);
ALTER TABLE outbound_mails DROP CONSTRAINT outbound_mails_rendered_or_draft;
ALTER TABLE outbound_mails DROP COLUMN draft;
ALTER TABLE outbound_mails ALTER COLUMN rendered SET NOT NULL;
ALTER TABLE outbound_mails RENAME COLUMN rendered TO raw;
