"""Predictions and exports from a run's latest weights. No web imports."""

from app.inference.predictor import Prediction, Predictor
from app.inference.run_models import NoWeightsError, RunModel, RunModels

__all__ = ["NoWeightsError", "Prediction", "Predictor", "RunModel", "RunModels"]
