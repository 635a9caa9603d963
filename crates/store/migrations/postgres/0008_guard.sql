-- The connectors' deletion guards (docs/architecture.md "The deletion guard"), shared by every
-- process on the database. One row per connector: times in Unix milliseconds, the removals let
-- through lately as JSON buckets `[[start, count], ...]` (at most about sixty), and how many
-- removals the guard holds now.
CREATE TABLE guard (
    connector     TEXT   PRIMARY KEY,
    tripped_since BIGINT,
    allowed_count BIGINT NOT NULL DEFAULT 0,
    allowed_until BIGINT,
    recent        TEXT   NOT NULL DEFAULT '[]',
    held          BIGINT NOT NULL DEFAULT 0
);
-- The removals a tripped guard refused, once each however often they are retried.
CREATE TABLE guard_held (
    connector  TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    name       TEXT,
    what       TEXT   NOT NULL,
    request_id TEXT,
    PRIMARY KEY (connector, kind, id)
);
CREATE INDEX guard_held_at ON guard_held (connector, at);
