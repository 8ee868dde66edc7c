"""Runs' models rebuilt from spec + newest weights: one cache for predictions and exports.

A run's module is built once from its model's spec and only reloads weights when the run
publishes newer ones (a new `WeightSnapshot`); the trained module itself is never touched.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from app.nn import ModelSummary, build_model
from app.store import NotFoundError
from app.training import RunManager, TrainConfig, WeightSnapshot, parse_config
from app.training.probe import conv_layers

CACHED_MODELS = 8


class NoWeightsError(LookupError):
    """The run has not published any weights yet (still queued, or failed before step one)."""


@dataclass
class RunModel:
    """One run's model in eval mode on the CPU, holding the weights of `snapshot`.

    Hold `lock` while running or reading `module`: newer weights are loaded into it in place.
    """

    run_id: str
    name: str  # the model's name
    spec: dict[str, Any]
    config: dict[str, Any]  # the run's training config (normalisation, loss)
    train_config: TrainConfig  # the same, parsed once (predictions ask for it every frame)
    summary: ModelSummary
    module: nn.Sequential
    snapshot: WeightSnapshot
    convs: list[tuple[str, nn.Conv2d]]  # (spec path, layer) of every conv layer, in order
    lock: threading.Lock = field(default_factory=threading.Lock)


class RunModels:
    """The models of the most recently used runs; safe to use from many threads."""

    def __init__(self, manager: RunManager, size: int = CACHED_MODELS) -> None:
        self._manager = manager
        self._size = size
        self._models: OrderedDict[str, RunModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, run_id: str) -> RunModel:
        """The run's model with its newest weights (NotFoundError, NoWeightsError)."""
        snapshot = self._manager.latest_weights(run_id)
        with self._lock:
            cached = self._models.get(run_id)
            if cached is not None and cached.snapshot is snapshot:
                self._models.move_to_end(run_id)
                return cached
        record = self._manager.store.get_run(run_id)
        if record is None:
            raise NotFoundError(f"no run with id '{run_id}'")
        if snapshot is None:
            raise NoWeightsError(
                f"run '{run_id}' has no weights yet (it is {record.status}); "
                "predictions work once it has trained its first steps"
            )
        if cached is not None:  # same run, newer weights: load them into the built module
            with cached.lock:
                cached.module.load_state_dict(snapshot.state)
                cached.snapshot = snapshot
            loaded = cached
        else:
            model = self._manager.store.get_model(record.model_id)
            if model is None:
                raise NotFoundError(f"the model of run '{run_id}' was deleted")
            built = build_model(model.spec, self._manager.settings.spec_limits())
            built.module.load_state_dict(snapshot.state)
            built.module.eval()
            loaded = RunModel(
                run_id=run_id,
                name=model.name,
                spec=model.spec,
                config=record.config,
                train_config=parse_config(record.config),
                summary=built.summary,
                module=built.module,
                snapshot=snapshot,
                convs=conv_layers(built.module, built.summary),
            )
        with self._lock:
            self._models[run_id] = loaded
            self._models.move_to_end(run_id)
            while len(self._models) > self._size:
                self._models.popitem(last=False)
        return loaded

    def forget(self, run_id: str) -> None:
        """Drop a run's model (after the run is deleted)."""
        with self._lock:
            self._models.pop(run_id, None)
