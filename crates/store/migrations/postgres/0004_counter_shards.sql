-- Every create and delete advanced one counters row per connector and kind, and held that
-- row's lock until its commit was flushed: concurrent writes, through every replica, queued
-- behind one another's WAL flush (one at a time, about a thousand a second). Each connector and
-- kind now has up to sixteen rows; a write advances one of them, chosen at random, and readers
-- add them up (see anchors.rs for why the sum serves as the generation).
ALTER TABLE counters ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE counters DROP CONSTRAINT counters_pkey;
ALTER TABLE counters ADD PRIMARY KEY (connector, kind, shard);
