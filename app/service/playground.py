"""The one door from the web layer into the core: models, runs, their views, predictions,
exports and the people who use them. Routes and websocket handlers call this and the event bus
only; it knows nothing of HTTP (who may do what is decided by `app.api.access` on the records
it hands out)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from app.data.registry import DatasetInfo
from app.data.uploads import UploadOptions
from app.inference import Prediction, Predictor
from app.inference.explain import Explainer, Explanation
from app.inference.export import (
    MEDIA_TYPES,
    SUFFIXES,
    WHOLE,
    ExportFormat,
    default_part,
    export_model,
    model_part,
)
from app.inference.generation import Generated
from app.inference.python_export import python_script
from app.inference.through_time import through_time
from app.inference.unitmath import Unit
from app.service.compare import compare_runs
from app.service.datasets import DatasetLibrary
from app.service.run_views import RunPublic, run_view, run_views
from app.service.time_travel import kept_checkpoints
from app.settings import Settings
from app.store import DatasetRecord, ModelRecord, NotFoundError, RunRecord, Store
from app.training import RunManager, Tuning
from app.training.branching import start_branch

HISTORY_TYPES = ("step", "epoch", "episode", "gan_health", "status", "done")


@dataclass(frozen=True)
class Export:
    """A run's model as a file to download."""

    content: bytes
    filename: str
    media_type: str


class Playground:
    """Everything the API can ask of the core, in the core's own terms."""

    def __init__(
        self, store: Store, manager: RunManager, predictor: Predictor, settings: Settings
    ) -> None:
        self._store = store
        self._manager = manager
        self._predictor = predictor
        self._settings = settings
        self._library = DatasetLibrary(store, manager.datasets, settings)
        self._explainer = Explainer(predictor)

    # -- datasets ----------------------------------------------------------------------------

    def datasets(self, owner: str | None) -> list[DatasetInfo]:
        """What runs can train on: the built-in datasets and the uploads (of `owner`; None:
        everyone's)."""
        return self._library.infos(owner)

    def dataset_info(self, dataset: str) -> DatasetInfo:
        """What a dataset is (DatasetError if there is no such dataset)."""
        return self._manager.datasets.info(dataset)

    def upload_dataset(
        self, upload: BinaryIO | bytes, name: str, options: UploadOptions, owner: str | None
    ) -> DatasetInfo:
        """Take in an uploaded ZIP of class folders or a CSV (UploadError if it is bad)."""
        return self._library.upload(upload, name, options, owner)

    def dataset_record(self, dataset_id: str) -> DatasetRecord | None:
        """An uploaded dataset's record (for who owns it), or None."""
        return self._library.record(dataset_id)

    def dataset_records(self, owner: str | None) -> list[DatasetRecord]:
        """The uploads' records (of `owner`; None: everyone's), oldest first."""
        return self._library.records(owner)

    def share_dataset(self, dataset_id: str, *, on: bool) -> DatasetRecord:
        """Give an upload a new share token (an older link stops working), or take it away."""
        return self._library.share(dataset_id, on=on)

    def shared_dataset(self, share_token: str) -> DatasetRecord | None:
        """The upload this share token opens, or None."""
        return self._library.shared(share_token)

    def delete_dataset(self, dataset_id: str) -> None:
        """Remove an uploaded dataset (NotFoundError; ConflictError while a run trains on it)."""
        self._library.delete(dataset_id)

    # -- models ------------------------------------------------------------------------------

    def create_model(self, name: str, spec: object, owner: str | None) -> ModelRecord:
        """Validate (SpecError), summarise and save a spec."""
        return self._manager.create_model(name, spec, owner=owner)

    def model(self, model_id: str) -> ModelRecord | None:
        """The model, or None."""
        return self._store.get_model(model_id)

    def models(self, owner: str | None) -> list[ModelRecord]:
        """Saved models (of `owner`; None: everyone's), oldest first."""
        return self._store.list_models(owner)

    def delete_model(self, model_id: str) -> None:
        """Delete a model and its finished runs (NotFoundError; ConflictError while one of its
        runs is active)."""
        if not self._store.delete_model(model_id):
            raise NotFoundError(f"no model with id '{model_id}'")

    # -- runs: records and views --------------------------------------------------------------

    def run(self, run_id: str) -> RunRecord | None:
        """The run, or None."""
        return self._store.get_run(run_id)

    def shared_run(self, share_token: str) -> RunRecord | None:
        """The run this share token opens, or None."""
        return self._store.shared_run(share_token)

    def runs(
        self,
        model_id: str | None = None,
        owner: str | None = None,
        *,
        with_starters: bool = False,
        statuses: Collection[str] | None = None,
    ) -> list[RunRecord]:
        """Runs, oldest first (see `Store.list_runs`)."""
        return self._store.list_runs(model_id, statuses, owner, with_starters=with_starters)

    def view(self, record: RunRecord) -> RunPublic:
        """The run as the API shows it: progress, queue position, ETA, latest metrics."""
        return run_view(
            self._store,
            record,
            self._manager.queue_order(),
            self._manager.training_slots(),
            self._manager.datasets,
        )

    def views(self, records: list[RunRecord]) -> list[RunPublic]:
        """Several runs' views, reading the queue once."""
        return run_views(
            self._store,
            records,
            self._manager.queue_order(),
            self._manager.training_slots(),
            self._manager.datasets,
        )

    def history(self, run_id: str) -> dict[str, Any]:
        """The whole stored history: step points, epoch summaries, statuses, the final result."""
        events = self._store.events_since(run_id, types=list(HISTORY_TYPES))
        done = [event for event in events if event["type"] == "done"]
        return {
            "steps": [event for event in events if event["type"] == "step"],
            "epochs": [event for event in events if event["type"] == "epoch"],
            "episodes": [event for event in events if event["type"] == "episode"],
            "gan_health": [event for event in events if event["type"] == "gan_health"],
            "statuses": [event for event in events if event["type"] == "status"],
            "done": done[-1] if done else None,
        }

    def events_since(self, run_id: str, since: int) -> list[dict[str, Any]]:
        """Stored and not yet stored events after `since`, with the newest live frame,
        each once and in seq order (what a run's socket sends first)."""
        unsaved = [e for e in self._manager.unsaved_events(run_id) if e["seq"] > since]
        history = self._store.events_since(run_id, since) + unsaved
        frame = self._manager.latest_frame(run_id)  # live frames are not stored
        if frame is not None and frame["seq"] > since:
            history.append(frame)
        return sorted({event["seq"]: event for event in history}.values(), key=_seq)

    # -- runs: changes -----------------------------------------------------------------------

    def submit(self, model_id: str, config: Mapping[str, Any], owner: str | None) -> RunPublic:
        """Queue a run (ConfigError, SpecError, LimitError: see `RunManager.submit`)."""
        record = self._manager.submit(
            model_id, config, owner, max_active=self._settings.max_active_runs_per_user
        )
        return self.view(record)

    def pause(self, run_id: str) -> RunPublic:
        """Hold the run at its next step."""
        self._manager.pause(run_id)
        return self.view(self._record(run_id))

    def resume(self, run_id: str) -> RunPublic:
        """Let a paused run go on, or queue an interrupted one from its last checkpoint."""
        return self.view(self._manager.resume(run_id))

    def stop(self, run_id: str) -> RunPublic:
        """End the run at its next step (its last epoch's checkpoint is kept)."""
        return self.view(self._manager.stop(run_id))

    def tune(self, run_id: str, tuning: Tuning) -> RunPublic:
        """Train with these settings (learning rate, regularisation) from the next step on."""
        self._manager.tune(run_id, tuning)
        return self.view(self._record(run_id))

    def delete_run(self, run_id: str) -> None:
        """Delete a finished run with its history, weights and everything cached of it."""
        self._manager.delete_run(run_id)
        self._predictor.forget(run_id)

    def branch(
        self, run_id: str, epoch: int, changes: Mapping[str, Any], owner: str | None
    ) -> RunPublic:
        """Queue a new run from the run's kept epoch `epoch` with changed settings (BranchError,
        ConfigError, LimitError; see app.training.branching)."""
        most = self._settings.max_active_runs_per_user
        return self.view(start_branch(self._manager, run_id, epoch, changes, owner, most))

    def checkpoints(self, run_id: str) -> dict[str, Any]:
        """The epochs the run keeps checkpoints of (to branch from, for the time strip)."""
        return kept_checkpoints(self._store, run_id, self._settings.epoch_checkpoints)

    def through_time(self, run_id: str, sample: npt.NDArray[np.float32]) -> dict[str, Any]:
        """A prepared sample's class probabilities under each kept epoch's weights
        (NotAClassifierError, NoWeightsError)."""
        limits = self._settings.spec_limits()
        return through_time(self._predictor, run_id, sample, self._store.data_dir, limits)

    def share(self, run_id: str, *, on: bool) -> RunRecord:
        """Give the run a new share token (an older link stops working), or take it away."""
        return self._store.set_share_token(run_id, share=on)

    # -- what a run's weights do -------------------------------------------------------------

    def run_dataset(self, run_id: str) -> DatasetInfo:
        """What the run trains on (NoWeightsError before its first step)."""
        return self._predictor.dataset(run_id)

    def predict(
        self, run_id: str, sample: npt.NDArray[np.float32], activations: bool = False
    ) -> Prediction:
        """Classify a prepared sample (see `run_dataset`) with the run's newest weights."""
        return self._predictor.predict(run_id, sample, activations)

    def explain(
        self,
        run_id: str,
        sample: npt.NDArray[np.float32],
        method: str,
        target: int | None = None,
        layer: str | None = None,
    ) -> Explanation:
        """Why the run's newest weights say what they say of a prepared sample: a heatmap by
        `method` (ExplainError naming the field for what cannot be explained)."""
        return self._explainer.explain(run_id, sample, method, target, layer)

    def explain_unit(
        self,
        run_id: str,
        sample: npt.NDArray[np.float32],
        layer: str,
        channel: int,
        y: int,
        x: int,
        shown: tuple[int, int] | None = None,
    ) -> Unit:
        """The arithmetic of one feature-map unit of a conv layer for a prepared sample
        (`shown`: the size of a smaller copy of the map that (y, x) was picked on)."""
        return self._explainer.unit(run_id, sample, layer, channel, y, x, shown)

    def decode(self, run_id: str, code: list[float]) -> dict[str, Any]:
        """An autoencode run's decoder on `code` (NotAnAutoencoderError otherwise)."""
        return self._predictor.decode(run_id, code)

    def samples(self, run_id: str, count: int, seed: int) -> Generated:
        """A gan run's generator on `count` noise vectors drawn from `seed` (NotAGanError for
        other runs)."""
        return self._predictor.generation.samples(run_id, count, seed)

    def generate(self, run_id: str, noise: list[list[float]]) -> Generated:
        """A gan run's generator on the given noise vectors (NotAGanError for other runs, or
        vectors of the wrong size)."""
        return self._predictor.generation.generate(run_id, noise)

    def confusion_examples(
        self, run_id: str, label: int, prediction: int, limit: int
    ) -> dict[str, Any]:
        """Validation digits of `label` the newest weights read as `prediction`."""
        return self._predictor.validation_examples(run_id, label, prediction, limit)

    def compare(self, run_a: str, run_b: str) -> dict[str, Any]:
        """Two runs' spec diff (layers added, removed, changed, with parameter and MAC deltas)
        and config diff (NotFoundError for a missing run or model)."""
        records = self._record(run_a), self._record(run_b)
        return compare_runs(self._store, *records, self._settings.spec_limits())

    def export(self, run_id: str, export_format: ExportFormat, part: str | None = None) -> Export:
        """The run's model, or a part of it that works alone (None: the task's default), with
        its newest weights as a file (NoWeightsError before step one, UnknownPartError naming
        the parts there are). As Python (`python`), the model's code and a training script,
        which needs no weights."""
        if export_format == "python":
            return self._python_export(run_id, part)
        model = self._predictor.models.get(run_id)
        part = part or default_part(model.config)
        with model.lock:  # newer weights are loaded in place: not while they are written out
            piece = model_part(model.module, model.summary, model.config, part)
            metadata = {"spec": model.spec, "config": model.config, "step": model.snapshot.step}
            if part != WHOLE:
                metadata["part"] = part
            names = (piece.input_name, piece.output_name)
            content = export_model(piece.module, piece.input_shape, export_format, metadata, names)
        return Export(
            content, _filename(model.name, part, run_id, export_format), MEDIA_TYPES[export_format]
        )

    def _python_export(self, run_id: str, part: str | None) -> Export:
        record = self._record(run_id)
        model = self._store.get_model(record.model_id)
        if model is None:
            raise NotFoundError(f"the model of run '{run_id}' was deleted")
        part = part or default_part(record.config)
        title = f"{model.name} (run {run_id})"
        limits = self._settings.spec_limits()
        source = python_script(model.spec, record.config, title=title, part=part, limits=limits)
        filename = _filename(model.name, part, run_id, "python")
        return Export(source.encode(), filename, MEDIA_TYPES["python"])

    # -- people ------------------------------------------------------------------------------

    def new_person(self) -> str:
        """A new user id."""
        return self._store.create_user()

    def token_for(self, user_id: str) -> str:
        """A new bearer token for `user_id` (made known first if need be)."""
        self._store.ensure_user(user_id)
        return self._store.create_token(user_id)

    def revoke_token(self, token: str) -> bool:
        """Revoke a bearer token; False if it is not known."""
        return self._store.revoke_token(token)

    def _record(self, run_id: str) -> RunRecord:
        record = self._store.get_run(run_id)
        if record is None:
            raise NotFoundError(f"no run with id '{run_id}'")
        return record


def _filename(name: str, part: str, run_id: str, export_format: ExportFormat) -> str:
    named = name if part == WHOLE else f"{name}-{part}"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{named}-{run_id}").strip("-")
    return stem + SUFFIXES[export_format]


def _seq(event: dict[str, Any]) -> int:
    return int(event["seq"])
