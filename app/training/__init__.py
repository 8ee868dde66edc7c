"""The training engine: trainer loop, events, live control, device workers. No web imports."""

from app.training.checks import check_trainable
from app.training.config import (
    DEFAULT_LR,
    LOSS_NAMES,
    OPTIMIZER_NAMES,
    SCHEDULE_NAMES,
    ConfigError,
    TrainConfig,
    parse_config,
)
from app.training.control import RunControl, StopKind, Tuning
from app.training.data import DeviceData, DeviceSplit, prepare_data
from app.training.device import DeviceError, configure_threads, resolve_device
from app.training.events import (
    DoneEvent,
    EpochEvent,
    Event,
    FeatureMapsEvent,
    SeqCounter,
    StatusEvent,
    StepEvent,
)
from app.training.manager import RunManager
from app.training.outputs import (
    Throttle,
    TrainingError,
    TrainingState,
    TrainResult,
    WeightSnapshot,
)
from app.training.recorder import Listener
from app.training.scheduler import DeviceWorker
from app.training.trainer import Trainer

__all__ = [
    "DEFAULT_LR",
    "LOSS_NAMES",
    "OPTIMIZER_NAMES",
    "SCHEDULE_NAMES",
    "ConfigError",
    "DeviceData",
    "DeviceError",
    "DeviceSplit",
    "DeviceWorker",
    "DoneEvent",
    "EpochEvent",
    "Event",
    "FeatureMapsEvent",
    "Listener",
    "RunControl",
    "RunManager",
    "SeqCounter",
    "StatusEvent",
    "StepEvent",
    "StopKind",
    "Throttle",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingError",
    "TrainingState",
    "Tuning",
    "WeightSnapshot",
    "check_trainable",
    "configure_threads",
    "parse_config",
    "prepare_data",
    "resolve_device",
]
