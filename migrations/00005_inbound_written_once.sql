-- +goose Up
-- Intake writes a mail's row once, with what became of it, at the end of the
-- transaction that handles the mail (it used to insert the row first and
-- update it at the end: a second version of every mail). The row's id is
-- drawn from its sequence at the start, and the ticket message the mail
-- becomes is written before the row, so that reference is checked at commit.
ALTER TABLE messages ALTER CONSTRAINT messages_inbound_mail_id_fkey DEFERRABLE INITIALLY DEFERRED;

-- +goose Down
ALTER TABLE messages ALTER CONSTRAINT messages_inbound_mail_id_fkey NOT DEFERRABLE;
