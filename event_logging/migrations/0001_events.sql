-- One row per delivery. Delivery is at-least-once, so an event may be stored more than once; copies share
-- event_id and every other column. event_id is in the sorting key, so ReplacingMergeTree collapses copies
-- when parts merge (eventually, never guaranteed); the analysis read path dedupes explicitly with
-- LIMIT 1 BY event_id (see store.deduped_events_sql). Ordered by (experiment, variant, user_id) because
-- every analysis query groups by exactly that; partitioned by day so old days can be dropped whole.
-- ts keeps whole seconds (18.16 has no DateTime64); ts_ms keeps milliseconds since the epoch.
CREATE TABLE IF NOT EXISTS {database}.events{local} {on_cluster} (
    event_date Date,
    ts DateTime,
    ts_ms UInt64,
    event_id String,
    event_type String,
    schema_version UInt16,
    request_id String,
    user_id String,
    experiment String,
    variant String,
    query_image_id String,
    result_image_id String,
    position UInt16,
    score Float64,
    latency_ms Float64,
    result_count UInt32,
    status_code UInt16,
    dwell_ms Float64,
    layer String,
    salt String,
    hash_version UInt16,
    inserted_at DateTime DEFAULT now()
) ENGINE = {replicated}ReplacingMergeTree{replica_args:events}
PARTITION BY toYYYYMMDD(event_date)
ORDER BY (experiment, variant, user_id, event_id);

-- vsx:cluster-only
-- Sharded by user: all copies of an event (same user) land on one shard, where they collapse.
CREATE TABLE IF NOT EXISTS {database}.events {on_cluster} AS {database}.events_local
ENGINE = Distributed({cluster}, {database}, events_local, cityHash64(user_id));
