-- +goose Up
-- A correspondent that answers every notice on a ticket within moments (a
-- bot that sets no Auto-Submitted header) is muted on that ticket after a
-- few such exchanges, so that the two machines stop mailing each other.
-- mail_loops counts each address's run of quick answers; tickets.muted
-- lists the addresses no notice about the ticket goes to, read with the
-- ticket itself.
CREATE TABLE mail_loops (
    ticket_id  bigint      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    address    text        NOT NULL CHECK (address <> '' AND address = lower(address)),
    streak     integer     NOT NULL DEFAULT 0,
    -- when the notice last counted as answered went out: each notice
    -- counts once, however many mails follow it
    answered   timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    muted_at   timestamptz,
    PRIMARY KEY (ticket_id, address)
);

ALTER TABLE tickets ADD COLUMN muted text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE tickets DROP COLUMN muted;
DROP TABLE mail_loops;
