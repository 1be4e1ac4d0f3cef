-- Schema version 2: impressions of interleaving experiments record which ranker ("A" or "B") placed the
-- result. Older rows (version 1) read as '' (no team). ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS, so
-- unlike 0001/0002 this statement is not idempotent: a run killed between it and its record needs the
-- record added by hand.
ALTER TABLE {database}.events{local} {on_cluster} ADD COLUMN team String DEFAULT '' AFTER hash_version;

-- vsx:cluster-only
ALTER TABLE {database}.events {on_cluster} ADD COLUMN team String DEFAULT '' AFTER hash_version;
