"""Experiments as YAML: schema, validation, deterministic assignment, power."""
