"""Encoder training: self-supervised contrastive training, and fine-tunes on click groups."""

from search_core.training.augment import AugmentConfig, augment
from search_core.training.click_groups import ClickGroups, click_groups
from search_core.training.config import TRAIN_CONFIGS, FineTuneConfig, TrainConfig, train_config
from search_core.training.fine_tune import fine_tune_encoder, trained_images
from search_core.training.matrix_ntxent_loss import MatrixNTXentLoss
from search_core.training.train import build_pixels_encoder, train_encoder

__all__ = [
    "TRAIN_CONFIGS",
    "AugmentConfig",
    "ClickGroups",
    "FineTuneConfig",
    "TrainConfig",
    "MatrixNTXentLoss",
    "augment",
    "build_pixels_encoder",
    "click_groups",
    "fine_tune_encoder",
    "train_config",
    "train_encoder",
    "trained_images",
]
