"""Versioned SQL files applied by `event_logging.migrator` (package only so that they ship in the wheel)."""
