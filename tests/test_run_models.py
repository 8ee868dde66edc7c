"""RunModels: a run's model is built once; newer weights load into it; the cache stays bounded."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from app.inference import NoWeightsError, RunModels
from app.nn import build_model, load_preset
from app.settings import Settings
from app.store import NotFoundError, Store
from app.training import WeightSnapshot


class FakeManager:
    """What RunModels asks of the run manager: the store, settings and published weights."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.settings = Settings(data_dir=store.data_dir)
        self.published: dict[str, WeightSnapshot] = {}

    def latest_weights(self, run_id: str) -> WeightSnapshot | None:
        return self.published.get(run_id)


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[FakeManager]:
    with Store(tmp_path) as store:
        yield FakeManager(store)


def _run(manager: FakeManager) -> str:
    spec = load_preset("lenet5").model_dump(mode="json", exclude_unset=True)
    model = manager.store.create_model("lenet5", spec, {})
    return manager.store.create_run(model.id, {"normalize": False}).id


def _weights(step: int, seed: int) -> WeightSnapshot:
    torch.manual_seed(seed)
    built = build_model(load_preset("lenet5"), Settings().spec_limits(), seed=seed)
    state = {key: value.clone() for key, value in built.module.state_dict().items()}
    return WeightSnapshot(step=step, epoch=0, state=state)


def test_newer_weights_load_into_the_same_module(manager: FakeManager) -> None:
    models = RunModels(manager)  # type: ignore[arg-type]
    run_id = _run(manager)
    with pytest.raises(NoWeightsError, match="no weights yet"):
        models.get(run_id)

    manager.published[run_id] = first = _weights(10, seed=1)
    model = models.get(run_id)
    assert model.snapshot is first and not model.module.training
    assert model.name == "lenet5" and model.config == {"normalize": False}
    assert [path for path, _ in model.convs] == ["0", "3"]
    assert models.get(run_id) is model  # the same weights: nothing rebuilt

    manager.published[run_id] = second = _weights(20, seed=2)
    again = models.get(run_id)
    assert again is model and again.snapshot is second  # loaded in place, not rebuilt
    for key, value in model.module.state_dict().items():
        assert torch.equal(value, second.state[key])


def test_the_cache_keeps_the_most_recently_used_runs(manager: FakeManager) -> None:
    models = RunModels(manager, size=2)  # type: ignore[arg-type]
    runs = [_run(manager) for _ in range(3)]
    for index, run_id in enumerate(runs):
        manager.published[run_id] = _weights(index, seed=index)
    first = models.get(runs[0])
    models.get(runs[1])
    assert models.get(runs[0]) is first  # used again: now the most recent
    models.get(runs[2])  # evicts runs[1], the least recently used
    assert models.get(runs[0]) is first
    models.forget(runs[0])
    assert models.get(runs[0]) is not first

    with pytest.raises(NotFoundError, match="no run with id"):
        models.get("nope")
