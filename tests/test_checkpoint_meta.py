"""CheckpointMeta: the typed form of a checkpoint's meta; older checkpoints still load."""

import torch

from app.training.checkpoint_meta import CheckpointMeta


def test_round_trip_keeps_every_field_and_leaves_unset_ones_out() -> None:
    meta = CheckpointMeta(
        epoch=2,
        step=40,
        seq=77,
        base_lr=0.003,
        best_val_accuracy=None,
        cpu_rng=torch.get_rng_state(),
        permutation_rng=torch.Generator().get_state(),
    )
    stored = meta.to_dict()
    assert "cuda_rng" not in stored and "best_model_state" not in stored
    assert stored["best_val_accuracy"] is None and stored["best_epoch"] is None  # information
    again = CheckpointMeta.from_dict(stored)
    assert (again.epoch, again.step, again.seq, again.base_lr) == (2, 40, 77, 0.003)
    assert again.cpu_rng is not None and torch.equal(again.cpu_rng, torch.get_rng_state())


def test_an_older_checkpoint_gets_the_defaults_and_unknown_keys_are_ignored() -> None:
    old = {"epoch": "1", "step": 20.0, "seq": 9, "base_lr": 1, "someday": "a later field"}
    meta = CheckpointMeta.from_dict(old)
    assert (meta.epoch, meta.step, meta.base_lr) == (1, 20, 1.0)
    assert isinstance(meta.base_lr, float)
    assert (meta.train_seconds, meta.samples, meta.stale_epochs, meta.final) == (0.0, 0, 0, False)
