-- Schema version 4: a search records the user's request attributes (platform, country, app version, ...) as two
-- parallel arrays, names and values (18.16 has no Map type; `attr_values[indexOf(attr_names, 'platform')]` reads
-- one, '' when absent). Older rows and other event types read as empty arrays. Like 0003 and 0004, not
-- idempotent: 18.16 has no ADD COLUMN IF NOT EXISTS.
ALTER TABLE {database}.events{local} {on_cluster} ADD COLUMN attr_names Array(String) AFTER attribution, ADD COLUMN attr_values Array(String) AFTER attr_names;

-- vsx:cluster-only
ALTER TABLE {database}.events {on_cluster} ADD COLUMN attr_names Array(String) AFTER attribution, ADD COLUMN attr_values Array(String) AFTER attr_names;
