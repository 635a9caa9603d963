-- Moves on after every committed write, in every replica (nextval is not transactional and
-- never blocks). A replica reads it before it reads what it caches and tags the cached answer
-- with it; an answer is served only while the number has not moved, so a write through one
-- replica is never hidden by an answer another replica cached before it.
CREATE SEQUENCE write_generation;
