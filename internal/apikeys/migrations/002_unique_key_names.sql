-- Key names are unique, revoked keys included, so that a name in the
-- request audit or in an event's actor ("key:<id>:<name>") always means one
-- key. A database that already holds duplicates is repaired
-- deterministically: the oldest key of a name (by created_at, then id)
-- keeps it, every later one is renamed "<name> (<id>)".
UPDATE crm_api_keys k SET name = k.name || ' (' || k.id::text || ')'
FROM (SELECT id, row_number() OVER (PARTITION BY name ORDER BY created_at, id) AS n FROM crm_api_keys) d
WHERE d.id = k.id AND d.n > 1;

CREATE UNIQUE INDEX crm_api_keys_name ON crm_api_keys (name);
