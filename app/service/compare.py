"""Two runs side by side: what differs in their models (the spec diff, with parameter and MAC
deltas) and in their training configs."""

from __future__ import annotations

from typing import Any

from app.nn import SpecLimits
from app.nn.spec_diff import diff_specs
from app.store import NotFoundError, RunRecord, Store
from app.training.config_diff import diff_configs


def compare_runs(store: Store, a: RunRecord, b: RunRecord, limits: SpecLimits) -> dict[str, Any]:
    """{"runs": [a, b] (id, model name, status), "spec": SpecDiff's JSON, "config": [changes]}
    (NotFoundError if a run's model was deleted)."""
    models = []
    for record in (a, b):
        model = store.get_model(record.model_id)
        if model is None:
            raise NotFoundError(f"the model of run '{record.id}' was deleted")
        models.append(model)
    return {
        "runs": [
            {"id": record.id, "model_id": model.id, "model": model.name, "status": record.status}
            for record, model in zip((a, b), models, strict=True)
        ],
        "spec": diff_specs(models[0].spec, models[1].spec, limits).to_dict(),
        "config": diff_configs(a.config, b.config),
    }
