-- +goose Up
-- The web console's sign-in. Every replica reads and writes these, so a
-- session made on one is good on all, and signing out (deleting the row)
-- ends it everywhere. Only hashes of secrets are stored: SHA-256 of a
-- session cookie's or sign-in link's random token, argon2id of a password.
CREATE TABLE agent_passwords (
    agent_id   bigint      PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    hash       text        NOT NULL CHECK (hash <> ''), -- PHC string: $argon2id$v=19$m=...,t=...,p=...$salt$key
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One-time sign-in links: used_at is set by the one request that uses it.
CREATE TABLE sign_in_tokens (
    token_hash bytea       PRIMARY KEY,
    agent_id   bigint      NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX sign_in_tokens_expires ON sign_in_tokens (expires_at);

CREATE TABLE web_sessions (
    token_hash bytea       PRIMARY KEY,
    agent_id   bigint      NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    -- the session ends at expires_at, or once unused for the idle timeout
    -- after seen_at; seen_at is written at most once a minute
    seen_at    timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX web_sessions_agent ON web_sessions (agent_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- Sign-in attempts (passwords tried, links asked for) counted per key
-- ("addr:ken@bank.example", "client:192.0.2.1") in fixed windows.
CREATE TABLE sign_in_attempts (
    key          text        NOT NULL CHECK (key <> ''),
    window_start timestamptz NOT NULL,
    attempts     integer     NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX sign_in_attempts_window ON sign_in_attempts (window_start);

-- +goose Down
DROP TABLE sign_in_attempts;
DROP TABLE web_sessions;
DROP TABLE sign_in_tokens;
DROP TABLE agent_passwords;
