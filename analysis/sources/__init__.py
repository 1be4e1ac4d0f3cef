"""Where experiment data comes from: an event store (ClickHouse or chdb) or a per-user file."""

from analysis.sources.csv_file import PerUserFile, read_per_user_file
from analysis.sources.data import ExperimentData, Source
from analysis.sources.sql import EventStoreSource, query_params

__all__ = ["EventStoreSource", "ExperimentData", "PerUserFile", "Source", "query_params", "read_per_user_file"]
