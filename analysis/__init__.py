"""Analysis: per-user aggregates, statistics on sufficient statistics, results.json, click-pair export."""
