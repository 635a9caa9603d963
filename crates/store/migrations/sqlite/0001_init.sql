-- scim-bridge store, SQLite. Timestamps are UTC text with six fractional digits
-- (2026-01-02T03:04:05.123456Z), so text order is time order.

-- Every resource of every connector. `seq` is the insertion order (AUTOINCREMENT: never
-- reused), which keeps paging stable. The index columns are derived from `attributes` at
-- commit; lower-casing is done by the application (Unicode-aware, identical for both backends).
CREATE TABLE resources (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    connector       TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('User', 'Group')),
    id              TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    created         TEXT    NOT NULL,
    last_modified   TEXT    NOT NULL,
    attributes      TEXT    NOT NULL,
    vendor_keys     TEXT    NOT NULL,
    -- lower(userName) of a User, lower(displayName) of a Group
    unique_key      TEXT,
    -- externalId, case-exact
    external_id     TEXT,
    -- displayName as written (for the `groups` of a User) and lower-cased
    display_name    TEXT,
    display_name_ci TEXT
);
CREATE UNIQUE INDEX resources_key ON resources (connector, kind, id);
CREATE UNIQUE INDEX resources_unique_key ON resources (connector, kind, unique_key);
CREATE INDEX resources_order ON resources (connector, kind, seq);
CREATE INDEX resources_external_id ON resources (connector, kind, external_id);
CREATE INDEX resources_display_name_ci ON resources (connector, kind, display_name_ci);

-- lower(emails[*].value) of each User.
CREATE TABLE emails (
    connector    TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    resource_seq INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    PRIMARY KEY (connector, email, resource_seq)
) WITHOUT ROWID;
CREATE INDEX emails_resource ON emails (resource_seq);

-- members[*].value of each Group, kept in step with the Group's attributes.
CREATE TABLE memberships (
    connector TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (connector, group_id, member_id)
) WITHOUT ROWID;
CREATE INDEX memberships_member ON memberships (connector, member_id);

-- Resources per connector and kind, so an unfiltered list costs no count scan. `generation`
-- moves on with every commit that inserts or deletes one of them (each shifts list positions):
-- a page anchor computed at one generation is valid exactly while it lasts (src/anchors.rs).
CREATE TABLE counters (
    connector  TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    total      INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    PRIMARY KEY (connector, kind)
) WITHOUT ROWID;

-- The operation journal: every write is recorded here before the connector runs.
CREATE TABLE journal (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    connector       TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('User', 'Group')),
    resource_id     TEXT    NOT NULL,
    operation       TEXT    NOT NULL CHECK (operation IN ('create', 'replace', 'delete')),
    change          TEXT    NOT NULL,
    before_resource TEXT,
    state           TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'committed', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    request_id      TEXT,
    created         TEXT    NOT NULL,
    updated         TEXT    NOT NULL
);
CREATE INDEX journal_pending ON journal (seq) WHERE state = 'pending';
CREATE INDEX journal_resource ON journal (connector, kind, resource_id);
