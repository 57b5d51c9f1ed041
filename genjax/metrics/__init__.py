"""Evaluation: mode coverage on Gaussian mixtures, FID and precision/recall on a trained
classifier's features, and the GAN convergence monitor."""

from genjax.metrics.convergence import ConvergenceMonitor, moving_average
from genjax.metrics.fid import (
    FeatureClassifier,
    FeatureExtractor,
    feature_extractor,
    fid,
    frechet_distance,
    precision_recall,
)
from genjax.metrics.mixtures import assign_modes, mode_coverage

__all__ = [
    "ConvergenceMonitor",
    "FeatureClassifier",
    "FeatureExtractor",
    "assign_modes",
    "feature_extractor",
    "fid",
    "frechet_distance",
    "mode_coverage",
    "moving_average",
    "precision_recall",
]
