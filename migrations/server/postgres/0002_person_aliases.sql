-- Fieldbook server, PostgreSQL schema 2: the person ids a user's devices minted.
-- Mirrors ../sqlite/0002_person_aliases.sql, which explains the aliases.
CREATE TABLE person_aliases (
    person_id  UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (user_id),
    created_at BIGINT NOT NULL
);
CREATE INDEX person_aliases_by_user ON person_aliases (user_id);
