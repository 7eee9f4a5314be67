-- +goose Up
-- Two storage changes that make taking mail in cheaper; neither changes what
-- any query returns.

-- The per-recipient cap on automatic notices counts a recipient's recent
-- automatic mail that is pending or sent. This index holds exactly those
-- rows, so that the count stays short when a sender floods us (or an
-- autoresponder loops) and most notices to it are suppressed: with only the
-- index on every notice, each count read them all.
CREATE INDEX outbound_mails_capped_idx ON outbound_mails (lower(recipient), created_at)
    WHERE automatic AND state IN ('pending', 'sent');

-- Store the large values (raw mails, message texts, notices, attachment
-- contents) TOAST-compressed with lz4 rather than pglz: several times less
-- CPU per mail taken in, the same data. Servers built without lz4 (or
-- older than PostgreSQL 14) keep pglz; only new values are affected.
-- +goose StatementBegin
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 AND EXISTS (
        SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE inbound_mails ALTER COLUMN raw SET COMPRESSION lz4;
        ALTER TABLE messages ALTER COLUMN body SET COMPRESSION lz4,
                             ALTER COLUMN full_text SET COMPRESSION lz4,
                             ALTER COLUMN html SET COMPRESSION lz4;
        ALTER TABLE outbound_mails ALTER COLUMN raw SET COMPRESSION lz4;
        ALTER TABLE blobs ALTER COLUMN content SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX outbound_mails_capped_idx;
-- +goose StatementBegin
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        ALTER TABLE inbound_mails ALTER COLUMN raw SET COMPRESSION default;
        ALTER TABLE messages ALTER COLUMN body SET COMPRESSION default,
                             ALTER COLUMN full_text SET COMPRESSION default,
                             ALTER COLUMN html SET COMPRESSION default;
        ALTER TABLE outbound_mails ALTER COLUMN raw SET COMPRESSION default;
        ALTER TABLE blobs ALTER COLUMN content SET COMPRESSION default;
    END IF;
END
$$;
-- +goose StatementEnd
