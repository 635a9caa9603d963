-- The trail of each write (docs/architecture.md "The trail"): the inbound request and every
-- vendor call attempt it caused, by request id, as JSON records the gateway writes in batches.
-- Pruned with the journal: a record goes once no journal entry holds its request id.
CREATE TABLE trail (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT    NOT NULL,
    at         TEXT    NOT NULL,
    record     TEXT    NOT NULL
);
CREATE INDEX trail_request ON trail (request_id);
-- A resource's history (the admin API asks by person), and the writes of one request.
CREATE INDEX journal_history ON journal (connector, resource_id, seq);
CREATE INDEX journal_request ON journal (request_id) WHERE request_id IS NOT NULL;
