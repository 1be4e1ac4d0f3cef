"""FastAPI serving layer: assignment, variant search, event logging, web UI."""
