-- +goose Up
-- Quarantined mail can be replayed through intake (postdesk mail replay):
-- the stored row is reused, and these record when that last happened and
-- how often.
ALTER TABLE inbound_mails ADD COLUMN replayed_at timestamptz,
                          ADD COLUMN replays     integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE inbound_mails DROP COLUMN replayed_at,
                          DROP COLUMN replays;
