"""Values that `--help` shows but that live in modules too heavy to import for it (torch, the stats stack).

Copied here so a command's help stays instant; tests/vsx/test_cli_speed.py fails if a copy drifts from
the value it copies (`search_core.encoders.ENCODERS`, `search_core.training.TRAIN_CONFIGS`,
`analysis.pairs`'s defaults).
"""

from __future__ import annotations

ENCODER_NAMES = ("pixels", "resnet18", "resnet50", "small_cnn", "vit_b_16")
TRAIN_PRESETS = ("cpu", "gpu", "quick", "wide")
MIN_DWELL_MS = 2000.0
PROPENSITY_CLIP = 0.1
