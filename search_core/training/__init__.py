"""Contrastive training of encoders: augmentation, mined-neighbour and click-pair positives, NT-Xent."""

from search_core.training.augment import AugmentConfig, augment
from search_core.training.config import TRAIN_CONFIGS, TrainConfig, train_config
from search_core.training.ntxent_loss import WeightedNTXentLoss
from search_core.training.train import build_pixels_encoder, train_encoder

__all__ = [
    "TRAIN_CONFIGS",
    "AugmentConfig",
    "TrainConfig",
    "WeightedNTXentLoss",
    "augment",
    "build_pixels_encoder",
    "train_config",
    "train_encoder",
]
