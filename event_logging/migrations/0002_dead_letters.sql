-- Messages the consumer could not turn into events (not JSON, wrong schema, unsupported version): the raw
-- payload as received (undecodable bytes escaped) and why it was refused. Ingest goes on without them.
CREATE TABLE IF NOT EXISTS {database}.dead_letters{local} {on_cluster} (
    received_at DateTime,
    topic String,
    partition UInt32,
    offset UInt64,
    reason String,
    raw String
) ENGINE = {replicated}MergeTree{replica_args:dead_letters}
PARTITION BY toYYYYMMDD(received_at)
ORDER BY (received_at, topic, partition, offset);

-- vsx:cluster-only
CREATE TABLE IF NOT EXISTS {database}.dead_letters {on_cluster} AS {database}.dead_letters_local
ENGINE = Distributed({cluster}, {database}, dead_letters_local, rand());
