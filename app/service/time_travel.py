"""Time travel on a run: the epochs it keeps, with what each scored (for the branch picker)."""

from __future__ import annotations

from typing import Any

from app.store import Store
from app.training import parse_config
from app.training.epoch_checkpoints import epoch_path, kept_epochs, read_meta
from app.training.tasks import task_of


def kept_checkpoints(store: Store, run_id: str, cap: int) -> dict[str, Any]:
    """{"run_id", "cap", "branches", "epochs": [{"epoch", "step", "val_accuracy", "val_loss",
    "best"}]}: the run's kept epoch checkpoints, oldest first ("best" marks the best epoch among
    them); "branches": whether the run's task can be branched."""
    record = store.get_run(run_id)
    branches = record is not None and task_of(parse_config(record.config)).branches
    epochs = kept_epochs(store.data_dir, run_id)
    summaries = {event["epoch"]: event for event in store.events_since(run_id, types=["epoch"])}
    metas = {epoch: read_meta(epoch_path(store.data_dir, run_id, epoch)) for epoch in epochs}
    best = metas[epochs[-1]].get("best_epoch") if epochs else None
    rows = [
        {
            "epoch": epoch,
            "step": metas[epoch].get("step"),
            "val_accuracy": summaries.get(epoch, {}).get("val_accuracy"),
            "val_loss": summaries.get(epoch, {}).get("val_loss"),
            "best": epoch == best,
        }
        for epoch in epochs
    ]
    return {"run_id": run_id, "cap": cap, "branches": branches, "epochs": rows}
