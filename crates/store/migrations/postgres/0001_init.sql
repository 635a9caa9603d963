-- scim-bridge store, PostgreSQL.
--
-- Key columns use the "C" collation: byte order, the order the in-memory sort of the shared
-- code uses, so a sort answered by SQL and one answered in Rust agree. Attributes are TEXT,
-- not JSONB: JSONB reorders object keys, and resources are returned as they were stored.

-- Every resource of every connector. `seq` is the insertion order, which keeps paging stable.
-- The index columns are derived from `attributes` at commit; lower-casing is done by the
-- application (Unicode-aware, identical for both backends).
CREATE TABLE resources (
    connector       TEXT        NOT NULL,
    kind            TEXT        NOT NULL CHECK (kind IN ('User', 'Group')),
    id              TEXT        COLLATE "C" NOT NULL,
    seq             BIGINT      GENERATED ALWAYS AS IDENTITY UNIQUE,
    version         BIGINT      NOT NULL,
    created         TIMESTAMPTZ NOT NULL,
    last_modified   TIMESTAMPTZ NOT NULL,
    attributes      TEXT        NOT NULL,
    vendor_keys     TEXT        NOT NULL,
    -- lower(userName) of a User, lower(displayName) of a Group
    unique_key      TEXT        COLLATE "C",
    -- externalId, case-exact
    external_id     TEXT        COLLATE "C",
    -- displayName as written (for the `groups` of a User) and lower-cased
    display_name    TEXT,
    display_name_ci TEXT        COLLATE "C",
    PRIMARY KEY (connector, kind, id)
);
CREATE UNIQUE INDEX resources_unique_key ON resources (connector, kind, unique_key);
CREATE INDEX resources_order ON resources (connector, kind, seq);
CREATE INDEX resources_external_id ON resources (connector, kind, external_id);
CREATE INDEX resources_display_name_ci ON resources (connector, kind, display_name_ci);

-- lower(emails[*].value) of each User.
CREATE TABLE emails (
    connector    TEXT   NOT NULL,
    email        TEXT   COLLATE "C" NOT NULL,
    resource_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    PRIMARY KEY (connector, email, resource_seq)
);
CREATE INDEX emails_resource ON emails (resource_seq);

-- members[*].value of each Group, kept in step with the Group's attributes.
CREATE TABLE memberships (
    connector TEXT NOT NULL,
    group_id  TEXT COLLATE "C" NOT NULL,
    member_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (connector, group_id, member_id)
);
CREATE INDEX memberships_member ON memberships (connector, member_id);

-- Resources per connector and kind, so an unfiltered list costs no count scan. `generation`
-- moves on with every commit that inserts or deletes one of them (each shifts list positions):
-- a page anchor computed at one generation is valid exactly while it lasts (src/anchors.rs).
CREATE TABLE counters (
    connector  TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    total      BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    PRIMARY KEY (connector, kind)
);

-- The operation journal: every write is recorded here before the connector runs.
CREATE TABLE journal (
    seq             BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector       TEXT        NOT NULL,
    kind            TEXT        NOT NULL CHECK (kind IN ('User', 'Group')),
    resource_id     TEXT        NOT NULL,
    operation       TEXT        NOT NULL CHECK (operation IN ('create', 'replace', 'delete')),
    change          TEXT        NOT NULL,
    before_resource TEXT,
    state           TEXT        NOT NULL DEFAULT 'pending'
                                CHECK (state IN ('pending', 'committed', 'failed')),
    attempts        INTEGER     NOT NULL DEFAULT 0,
    last_error      TEXT,
    request_id      TEXT,
    created         TIMESTAMPTZ NOT NULL,
    updated         TIMESTAMPTZ NOT NULL
);
CREATE INDEX journal_pending ON journal (seq) WHERE state = 'pending';
CREATE INDEX journal_resource ON journal (connector, kind, resource_id);
