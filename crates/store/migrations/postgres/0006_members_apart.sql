-- A Group's members live in `memberships` alone (docs/architecture.md "Groups at scale"): a
-- Group's `attributes` no longer hold the list, so a change of k members writes k rows, not the
-- whole group. Each membership row keeps what a client may say of a member besides its id.
ALTER TABLE memberships
    ADD COLUMN member_type TEXT CHECK (member_type IN ('User', 'Group')),
    ADD COLUMN display TEXT;

-- The kind is what the member is in the store (a member naming nothing keeps none).
UPDATE memberships m SET member_type = r.kind
FROM resources r
WHERE r.connector = m.connector AND r.id = m.member_id;

-- `display` as the Group's list had it.
UPDATE memberships m SET display = e.value ->> 'display'
FROM resources g,
     json_array_elements(CASE WHEN json_typeof(g.attributes::json -> 'members') = 'array'
                              THEN g.attributes::json -> 'members' ELSE '[]'::json END) AS e
WHERE g.connector = m.connector AND g.kind = 'Group' AND g.id = m.group_id
  AND e.value ->> 'value' = m.member_id AND e.value ->> 'display' IS NOT NULL;

-- The list leaves the attributes, whose other keys keep their order (TEXT, not JSONB: 0001).
UPDATE resources SET attributes = coalesce((
    SELECT json_object_agg(e.key, e.value ORDER BY e.n)::text
    FROM json_each(resources.attributes::json) WITH ORDINALITY AS e (key, value, n)
    WHERE e.key <> 'members'
), '{}')
WHERE kind = 'Group' AND attributes::json -> 'members' IS NOT NULL;
