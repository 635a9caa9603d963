-- No query reads the journal by resource (operators list it by connector and state, recovery
-- by state, deliveries join it by seq), and every write paid for this index: a random insert
-- into a B-tree keyed by resource id. It goes.
DROP INDEX IF EXISTS journal_resource;
