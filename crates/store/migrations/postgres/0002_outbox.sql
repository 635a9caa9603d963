-- Queued delivery (connectors with delivery = "queued", DESIGN.md "Consistency"): the store
-- takes a write at once and the vendor is brought along later by the workers of every replica.
-- One row per journal entry to deliver, written in the transaction that commits the entry.
-- Times that decide who works on what (next_attempt, lease_until) come from the database's
-- clock, so replicas whose clocks differ still agree.
CREATE TABLE outbox (
    seq          BIGINT      PRIMARY KEY REFERENCES journal (seq),
    connector    TEXT        NOT NULL,
    kind         TEXT        NOT NULL CHECK (kind IN ('User', 'Group')),
    resource_id  TEXT        NOT NULL,
    state        TEXT        NOT NULL DEFAULT 'queued'
                             CHECK (state IN ('queued', 'delivered', 'failed', 'dropped')),
    attempts     INTEGER     NOT NULL DEFAULT 0,
    -- not delivered before this time (backoff after a failed attempt)
    next_attempt TIMESTAMPTZ NOT NULL,
    -- the worker holding the entry, until when (another takes it over once the lease ends)
    lease_owner  TEXT,
    lease_until  TIMESTAMPTZ,
    last_error   TEXT,
    -- the vendor keys the delivery returned: the next delivery of the resource starts from them
    vendor_keys  TEXT,
    created      TIMESTAMPTZ NOT NULL,
    updated      TIMESTAMPTZ NOT NULL
);
-- Entries still to settle, per resource in order: the head of each resource is the only one due.
CREATE INDEX outbox_open ON outbox (connector, kind, resource_id, seq)
    WHERE state IN ('queued', 'failed');
CREATE INDEX outbox_due ON outbox (next_attempt) WHERE state = 'queued';
CREATE INDEX outbox_delivered ON outbox (connector, kind, resource_id, seq)
    WHERE state = 'delivered';
