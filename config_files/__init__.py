"""Configuration files written by people (experiment YAML, metric YAML): their data with the line of every key,
and problems located in them (`file:line field: message`).

A leaf package both `experiments` and `analysis` read (it imports nothing of the project), so the two YAML
contracts report mistakes the same way without either importing the other. How a file is parsed stays with its
owner: `experiments.yaml_lines`, `analysis.yaml_source`.
"""

from config_files.located import ConfigIssue, Loc, SourceFile, format_loc

__all__ = ["ConfigIssue", "Loc", "SourceFile", "format_loc"]
