-- Schema version 3: clicks and dwells record whether their experiment, variant and query came from the serving
-- process's own record of the search ('server') or from the client's report ('client': the process did not know
-- the request, so nothing vouches for them). Older rows read as ''. Not idempotent, like 0003 (no ADD COLUMN IF
-- NOT EXISTS in 18.16).
ALTER TABLE {database}.events{local} {on_cluster} ADD COLUMN attribution String DEFAULT '' AFTER team;

-- vsx:cluster-only
ALTER TABLE {database}.events {on_cluster} ADD COLUMN attribution String DEFAULT '' AFTER team;
