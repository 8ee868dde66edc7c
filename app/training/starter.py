"""The starter run: a LeNet-5 the server trains for newcomers when it first starts, so the Draw
page recognises digits on the first visit (TensorFlow Playground works the instant it opens).

It is an ordinary run (it can be watched, exported, deleted), marked `starter`; in shared mode
everyone may read it and nobody controls it. It is made once per data directory, and only for a
directory without runs: deleting it does not bring it back.
"""

from __future__ import annotations

from typing import Any

from app.nn import load_preset
from app.store import RunRecord
from app.training.manager import RunManager

STARTER_MODEL_NAME = "LeNet-5 starter"
STARTER_PRESET = "lenet5"
# The lenet5 preset with a fast config: 99.1 % test accuracy in two epochs, about 19 s of
# training on one core of the development machine.
STARTER_CONFIG: dict[str, Any] = {
    "epochs": 2,
    "batch_size": 128,
    "lr": 0.01,
    "label_smoothing": 0.1,
    "channels_last": True,
}
_MADE = "starter run made"


def start_starter_run(manager: RunManager) -> RunRecord | None:
    """Queue the starter run if this data directory never had one and has no runs; else None."""
    store = manager.store
    if not manager.settings.starter_run or not store.happen_once(_MADE):
        return None
    if store.list_runs():
        return None  # people already train here: nothing to start them off with
    model = manager.create_model(STARTER_MODEL_NAME, load_preset(STARTER_PRESET))
    return manager.submit(model.id, STARTER_CONFIG, starter=True)
