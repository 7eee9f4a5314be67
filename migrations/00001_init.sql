-- +goose Up

-- Organisation -------------------------------------------------------------

CREATE TABLE departments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL CHECK (name <> ''),
    email      text        NOT NULL DEFAULT '',
    active     boolean     NOT NULL DEFAULT true,
    -- Per-department notice switches and template directory, as configured.
    settings   jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX departments_name_key ON departments (lower(name));

CREATE TABLE agents (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL CHECK (name <> ''),
    email      text        NOT NULL CHECK (email <> ''),
    username   text        NOT NULL CHECK (username <> ''),
    active     boolean     NOT NULL DEFAULT true,
    -- Signs this agent's reply addresses; generated once, never shown.
    secret     bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agents_email_key ON agents (lower(email));
CREATE UNIQUE INDEX agents_username_key ON agents (lower(username));

CREATE TABLE agent_departments (
    agent_id      bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    department_id bigint NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, department_id)
);
CREATE INDEX agent_departments_department_idx ON agent_departments (department_id);

CREATE TABLE help_topics (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text    NOT NULL CHECK (name <> ''),
    department_id bigint  NOT NULL REFERENCES departments (id),
    priority      text    NOT NULL DEFAULT 'normal'
                  CHECK (priority IN ('low', 'normal', 'high', 'emergency')),
    active        boolean NOT NULL DEFAULT true
);
CREATE UNIQUE INDEX help_topics_name_key ON help_topics (lower(name));

CREATE TABLE mailboxes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text    NOT NULL UNIQUE CHECK (name <> ''),
    address          text    NOT NULL CHECK (address <> ''),
    display_name     text    NOT NULL DEFAULT '',
    kind             text    NOT NULL CHECK (kind IN ('imap', 'smtp')),
    -- Connection settings without secrets (those stay in the environment).
    settings         jsonb   NOT NULL DEFAULT '{}',
    department_id    bigint  REFERENCES departments (id),
    help_topic_id    bigint  REFERENCES help_topics (id),
    priority         text    CHECK (priority IN ('low', 'normal', 'high', 'emergency')),
    active           boolean NOT NULL DEFAULT true,
    -- IMAP poller state: what has been committed from which folder generation.
    imap_uidvalidity bigint,
    imap_last_uid    bigint  NOT NULL DEFAULT 0,
    imap_polled_at   timestamptz
);
CREATE UNIQUE INDEX mailboxes_address_key ON mailboxes (lower(address));

-- Tickets ------------------------------------------------------------------

CREATE TABLE customers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text        NOT NULL CHECK (email <> ''),
    name       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email));

CREATE TABLE tickets (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number        text        NOT NULL UNIQUE,
    subject       text        NOT NULL,
    status        text        NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'resolved', 'closed')),
    priority      text        NOT NULL DEFAULT 'normal'
                  CHECK (priority IN ('low', 'normal', 'high', 'emergency')),
    department_id bigint      NOT NULL REFERENCES departments (id),
    assignee_id   bigint      REFERENCES agents (id),
    help_topic_id bigint      REFERENCES help_topics (id),
    customer_id   bigint      NOT NULL REFERENCES customers (id),
    mailbox_id    bigint      REFERENCES mailboxes (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    closed_at     timestamptz
);
CREATE INDEX tickets_status_idx ON tickets (status, department_id);
CREATE INDEX tickets_customer_idx ON tickets (customer_id);

CREATE TABLE collaborators (
    ticket_id   bigint      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    customer_id bigint      NOT NULL REFERENCES customers (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, customer_id)
);

-- Mail records -------------------------------------------------------------

-- Every accepted inbound mail, byte for byte, and what became of it.
CREATE TABLE inbound_mails (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at      timestamptz NOT NULL DEFAULT now(),
    transport        text        NOT NULL CHECK (transport IN ('smtp', 'lmtp', 'imap', 'cli')),
    mailbox_id       bigint      REFERENCES mailboxes (id),
    imap_uidvalidity bigint,
    imap_uid         bigint,
    remote_addr      text        NOT NULL DEFAULT '',
    mail_from        text        NOT NULL DEFAULT '',
    rcpt_to          text[]      NOT NULL DEFAULT '{}',
    message_id       text        NOT NULL CHECK (message_id <> ''),
    -- The Message-ID, or a content hash when there is none: one row per mail.
    dedupe_key       text        NOT NULL UNIQUE CHECK (dedupe_key <> ''),
    raw              bytea       NOT NULL,
    size             integer     NOT NULL,
    outcome          text        NOT NULL
                     CHECK (outcome IN ('new_ticket', 'follow_up', 'quarantined', 'ignored', 'rejected')),
    reason           text        NOT NULL DEFAULT '',
    ticket_id        bigint      REFERENCES tickets (id),
    thread_rule      text        NOT NULL DEFAULT ''
);
CREATE INDEX inbound_mails_outcome_idx ON inbound_mails (outcome, received_at);
CREATE INDEX inbound_mails_ticket_idx ON inbound_mails (ticket_id);

CREATE TABLE messages (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id          bigint      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind               text        NOT NULL CHECK (kind IN ('customer', 'reply', 'note')),
    author_agent_id    bigint      REFERENCES agents (id),
    author_customer_id bigint      REFERENCES customers (id),
    author_name        text        NOT NULL DEFAULT '',
    author_email       text        NOT NULL DEFAULT '',
    -- body is what the ticket shows (quoted history removed); full_text keeps all.
    body               text        NOT NULL DEFAULT '',
    full_text          text        NOT NULL DEFAULT '',
    html               text        NOT NULL DEFAULT '',
    message_id         text        NOT NULL DEFAULT '',
    in_reply_to        text[]      NOT NULL DEFAULT '{}',
    "references"       text[]      NOT NULL DEFAULT '{}',
    inbound_mail_id    bigint      REFERENCES inbound_mails (id),
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX messages_ticket_idx ON messages (ticket_id, created_at);
CREATE INDEX messages_message_id_idx ON messages (message_id) WHERE message_id <> '';

-- Attachment contents, stored once per distinct content.
CREATE TABLE blobs (
    sha256     bytea   PRIMARY KEY,
    size       bigint  NOT NULL,
    content    bytea   NOT NULL
);

CREATE TABLE attachments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id   bigint  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    filename     text    NOT NULL DEFAULT '',
    content_type text    NOT NULL DEFAULT 'application/octet-stream',
    size         bigint  NOT NULL,
    sha256       bytea   NOT NULL REFERENCES blobs (sha256),
    inline       boolean NOT NULL DEFAULT false,
    content_id   text    NOT NULL DEFAULT ''
);
CREATE INDEX attachments_message_idx ON attachments (message_id);

-- History ------------------------------------------------------------------

CREATE TABLE ticket_events (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id         bigint      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_kind        text        NOT NULL CHECK (actor_kind IN ('customer', 'agent', 'system')),
    actor_agent_id    bigint      REFERENCES agents (id),
    actor_customer_id bigint      REFERENCES customers (id),
    actor_name        text        NOT NULL DEFAULT '',
    action            text        NOT NULL,
    old_value         text        NOT NULL DEFAULT '',
    new_value         text        NOT NULL DEFAULT '',
    detail            text        NOT NULL DEFAULT '',
    message_id        bigint      REFERENCES messages (id)
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, id);

-- Outbound mail: one row per notice and recipient; the row is the queue entry
-- and the record of what was sent.
CREATE TABLE outbound_mails (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id       bigint      REFERENCES tickets (id) ON DELETE CASCADE,
    event_id        bigint      REFERENCES ticket_events (id),
    message_id      text        NOT NULL UNIQUE CHECK (message_id <> ''),
    template        text        NOT NULL,
    recipient       text        NOT NULL,
    recipient_kind  text        NOT NULL CHECK (recipient_kind IN ('customer', 'collaborator', 'agent', 'department', 'other')),
    mail_from       text        NOT NULL,
    subject         text        NOT NULL DEFAULT '',
    automatic       boolean     NOT NULL DEFAULT true,
    raw             bytea       NOT NULL,
    state           text        NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'failed', 'suppressed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at         timestamptz
);
CREATE INDEX outbound_mails_pending_idx ON outbound_mails (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbound_mails_ticket_idx ON outbound_mails (ticket_id, id);
CREATE INDEX outbound_mails_recipient_idx ON outbound_mails (lower(recipient), created_at);

-- +goose Down
DROP TABLE outbound_mails;
DROP TABLE ticket_events;
DROP TABLE attachments;
DROP TABLE blobs;
DROP TABLE messages;
DROP TABLE inbound_mails;
DROP TABLE collaborators;
DROP TABLE tickets;
DROP TABLE customers;
DROP TABLE mailboxes;
DROP TABLE help_topics;
DROP TABLE agent_departments;
DROP TABLE agents;
DROP TABLE departments;
