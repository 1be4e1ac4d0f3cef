"""Files, read and written the same way by every package.

Configuration files written by people (experiment YAML, metric YAML): their data with the line of every key, and
problems located in them (`file:line field: message`), so the two YAML contracts report mistakes alike without
either importing the other; how a file is parsed stays with its owner (`experiments.yaml_lines`,
`analysis.yaml_source`). Files the system writes (results, reports, pairs, manifests) are replaced atomically
(`config_files.atomic`). A leaf package: it imports nothing of the project, so every package may import it.
"""

from config_files.atomic import atomic_path, write_atomic
from config_files.located import ConfigIssue, Loc, SourceFile, format_loc

__all__ = ["ConfigIssue", "Loc", "SourceFile", "atomic_path", "format_loc", "write_atomic"]
