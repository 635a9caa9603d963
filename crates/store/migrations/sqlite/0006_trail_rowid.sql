-- The trail without AUTOINCREMENT: that keyword makes every insert update sqlite_sequence as
-- well, one more B-tree write per record on the writer thread every write waits for. A plain
-- INTEGER PRIMARY KEY still numbers new records past every kept one, so `ORDER BY id` stays
-- the order they were kept in; only a pruned id could come back, which orders nothing.
CREATE TABLE trail_new (
    id         INTEGER PRIMARY KEY,
    request_id TEXT    NOT NULL,
    at         TEXT    NOT NULL,
    record     TEXT    NOT NULL
);
INSERT INTO trail_new (id, request_id, at, record) SELECT id, request_id, at, record FROM trail;
DROP TABLE trail;
ALTER TABLE trail_new RENAME TO trail;
CREATE INDEX trail_request ON trail (request_id);
