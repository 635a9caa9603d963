-- A Group's members live in `memberships` alone (docs/architecture.md "Groups at scale"): a
-- Group's `attributes` no longer hold the list, so a change of k members writes k rows, not the
-- whole group. Each membership row keeps what a client may say of a member besides its id.
ALTER TABLE memberships ADD COLUMN member_type TEXT CHECK (member_type IN ('User', 'Group'));
ALTER TABLE memberships ADD COLUMN display TEXT;

-- The kind is what the member is in the store (a member naming nothing keeps none).
UPDATE memberships SET member_type = (
    SELECT r.kind FROM resources r
    WHERE r.connector = memberships.connector AND r.id = memberships.member_id
    ORDER BY r.kind DESC LIMIT 1
);

-- `display` as the Group's list had it.
UPDATE memberships SET display = (
    SELECT json_extract(m.value, '$.display')
    FROM resources g, json_each(g.attributes, '$.members') m
    WHERE g.connector = memberships.connector AND g.kind = 'Group'
      AND g.id = memberships.group_id
      AND json_extract(m.value, '$.value') = memberships.member_id
    LIMIT 1
)
WHERE EXISTS (
    SELECT 1 FROM resources g
    WHERE g.connector = memberships.connector AND g.kind = 'Group' AND g.id = memberships.group_id
      AND json_type(g.attributes, '$.members') = 'array'
);

UPDATE resources SET attributes = json_remove(attributes, '$.members')
WHERE kind = 'Group' AND json_type(attributes, '$.members') IS NOT NULL;
