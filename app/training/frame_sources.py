"""Which pictures a run streams besides its curves, chosen by what it learns: a 2-D problem's
decision boundary, or an autoencoder's reconstructions and code scatter. Classifiers of images
have the trainer's own feature maps and need none of these."""

from __future__ import annotations

from collections.abc import Callable

from app.data.registry import planar_params
from app.nn import BuiltModel
from app.training.config import TrainConfig
from app.training.data import DeviceData
from app.training.task_params import autoencode_params
from app.training.trainer import FrameSource


def _boundary(built: BuiltModel, config: TrainConfig, data: DeviceData) -> FrameSource | None:
    params = planar_params(config.dataset)
    if params is None:
        return None
    from app.training.boundary import BoundaryProbe  # noqa: PLC0415 (2-D runs only)

    return BoundaryProbe(built.module, built.summary, params, loss=config.loss)


def _reconstructions(
    built: BuiltModel, config: TrainConfig, data: DeviceData
) -> FrameSource | None:
    if autoencode_params(config.task) is None:
        return None
    from app.training.reconstruction import ReconstructionProbe  # noqa: PLC0415

    return ReconstructionProbe(built.module, built.summary, data.test, config)


# Asked in order; the first that applies to the run gives its frames.
SOURCES: tuple[Callable[[BuiltModel, TrainConfig, DeviceData], FrameSource | None], ...] = (
    _reconstructions,
    _boundary,
)


def frame_source(built: BuiltModel, config: TrainConfig, data: DeviceData) -> FrameSource | None:
    """The run's frame source, if it has one."""
    for make in SOURCES:
        source = make(built, config, data)
        if source is not None:
            return source
    return None
