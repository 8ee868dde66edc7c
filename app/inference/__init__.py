"""Predictions from a run's latest weights, for drawn digits. No web imports."""

from app.inference.predictor import NoWeightsError, Prediction, Predictor

__all__ = ["NoWeightsError", "Prediction", "Predictor"]
