-- The trail moves to a file of its own beside the store's (docs/architecture.md "The trail"),
-- written by a thread of its own instead of the store's one writer. The store copies the
-- records of this table there before this migration runs.
DROP TABLE trail;
