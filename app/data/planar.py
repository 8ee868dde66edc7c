"""TensorFlow Playground's 2-D problems, drawn from a seed, as `Dataset`s.

The generators follow the math of TF Playground's `dataset.ts`: points on the plane around the
origin, labelled -1/+1 (classification) or given a value (regression). `noise` is its slider
over 100 (0..0.5) and is applied the way it applies it: circle, xor, plane and multi-gauss read
the label at a jittered copy of the point (the point stays put, labels near the edge flip),
gauss widens its two clouds and spiral moves its points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
import torch
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.data.dataset import ArraySplit, Dataset, TaskKind

PlanarName = Literal["circle", "xor", "gauss", "spiral", "plane", "multi-gauss"]
FeatureName = Literal["x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2"]

PLANAR_NAMES: tuple[PlanarName, ...] = ("circle", "xor", "gauss", "spiral", "plane", "multi-gauss")
FEATURE_NAMES: tuple[FeatureName, ...] = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2")

# Class 0 is TF Playground's label -1 (drawn orange there), class 1 its label +1 (blue).
PLANAR_CLASSES = ("-1", "+1")
EXTENT = 6.0  # the plane shown and sampled is [-EXTENT, EXTENT]²

Array = NDArray[np.float64]
# (rng, how many points, noise) -> (points (N, 2), labels -1/+1 or values (N,))
Sampler = Callable[[np.random.Generator, int, float], tuple[Array, Array]]


class PlanarParams(BaseModel):
    """Which 2-D problem to draw and how: `{"name": "spiral", "noise": 0.1}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: PlanarName
    points: int = Field(default=500, ge=10, le=5000, description="points drawn for train + test")
    noise: float = Field(default=0.0, ge=0.0, le=0.5, description="TF Playground's noise / 100")
    train_ratio: float = Field(default=0.5, ge=0.1, le=0.9, description="share of points to train")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="same seed, same points")
    features: tuple[FeatureName, ...] = Field(
        default=("x1", "x2"), min_length=1, description="model inputs, in this order"
    )

    @field_validator("features")
    @classmethod
    def _distinct(cls, features: tuple[FeatureName, ...]) -> tuple[FeatureName, ...]:
        repeated = sorted({name for name in features if features.count(name) > 1})
        if repeated:
            raise ValueError(f"each feature at most once; repeated: {', '.join(repeated)}")
        return features


@dataclass(frozen=True)
class PlanarProblem:
    """One problem of the list: what it asks and how its points are drawn."""

    kind: TaskKind
    description: str
    sample: Sampler


def _circle(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    """+1 inside radius 2.5, -1 on the ring 3.5..5; labels read at the point jittered by noise."""
    radius = 5.0
    inside = (n + 1) // 2
    r = np.concatenate(
        [rng.uniform(0.0, 0.5 * radius, inside), rng.uniform(0.7 * radius, radius, n - inside)]
    )
    angle = rng.uniform(0.0, 2 * math.pi, n)
    xy = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)  # (N, 2)
    jittered = xy + rng.uniform(-radius, radius, (n, 2)) * noise
    return xy, np.where(np.hypot(jittered[:, 0], jittered[:, 1]) < 0.5 * radius, 1.0, -1.0)


def _xor(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    """Uniform over ±5, pushed 0.3 off both axes; +1 where x1·x2 ≥ 0 at the jittered point."""
    xy = rng.uniform(-5.0, 5.0, (n, 2))
    xy += np.where(xy > 0, 0.3, -0.3)
    jittered = xy + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    return xy, np.where(jittered[:, 0] * jittered[:, 1] >= 0, 1.0, -1.0)


def _gauss(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    """Two normal clouds, +1 around (2, 2) and -1 around (-2, -2); variance 0.5..4 with noise."""
    std = math.sqrt(0.5 + noise * (4.0 - 0.5) / 0.5)
    label = np.where(np.arange(n) < (n + 1) // 2, 1.0, -1.0)
    return 2.0 * label[:, None] + std * rng.standard_normal((n, 2)), label


def _spiral(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    """Two arms 1.75 turns long out to radius 5, +1 and -1 half a turn apart; noise moves points."""
    arms = []
    for size, phase in (((n + 1) // 2, 0.0), (n // 2, math.pi)):
        s = np.arange(size) / size  # 0..1 along the arm
        r, t = 5.0 * s, 1.75 * 2 * math.pi * s + phase
        arms.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
    xy = np.concatenate(arms) + rng.uniform(-1.0, 1.0, (n, 2)) * noise
    return xy, np.where(np.arange(n) < (n + 1) // 2, 1.0, -1.0)


def _plane(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    """Uniform over ±6; the value (x1 + x2) / 10 at the jittered point (±1.2 without noise)."""
    xy = rng.uniform(-EXTENT, EXTENT, (n, 2))
    jittered = xy + rng.uniform(-EXTENT, EXTENT, (n, 2)) * noise
    return xy, jittered.sum(axis=1) / 10.0


# (x1, x2, sign) of each bump: a cone of height 1 at its centre, falling to 0 at distance 2.
_BUMPS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]],
    dtype=np.float64,
)


def _multi_gauss(rng: np.random.Generator, n: int, noise: float) -> tuple[Array, Array]:
    """Uniform over ±6; the value of six ±1 bumps at the jittered point (-1..1)."""
    xy = rng.uniform(-EXTENT, EXTENT, (n, 2))
    jittered = xy + rng.uniform(-EXTENT, EXTENT, (n, 2)) * noise
    distance = np.linalg.norm(jittered[:, None, :] - _BUMPS[None, :, :2], axis=2)  # (N, 6)
    heights = _BUMPS[:, 2] * np.clip(1.0 - distance / 2.0, 0.0, 1.0)
    # TF Playground keeps the bump largest in magnitude; bumps never overlap, so that is the sum.
    return xy, heights.sum(axis=1)


PLANAR_PROBLEMS: Mapping[PlanarName, PlanarProblem] = MappingProxyType(
    {
        "circle": PlanarProblem(
            TaskKind.CLASSIFICATION, "a disc of one class inside a ring of the other", _circle
        ),
        "xor": PlanarProblem(
            TaskKind.CLASSIFICATION, "four quadrants: the class is the sign of x1·x2", _xor
        ),
        "gauss": PlanarProblem(
            TaskKind.CLASSIFICATION, "two gaussian clouds, one per class", _gauss
        ),
        "spiral": PlanarProblem(
            TaskKind.CLASSIFICATION, "two interleaved spiral arms, one per class", _spiral
        ),
        "plane": PlanarProblem(
            TaskKind.REGRESSION, "regression: a value rising linearly with x1 + x2", _plane
        ),
        "multi-gauss": PlanarProblem(
            TaskKind.REGRESSION, "regression: six bumps of value +1 or -1", _multi_gauss
        ),
    }
)

PLANAR_DESCRIPTIONS: Mapping[PlanarName, str] = MappingProxyType(
    {name: problem.description for name, problem in PLANAR_PROBLEMS.items()}
)

_FEATURES: Mapping[FeatureName, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = (
    MappingProxyType(
        {
            "x1": lambda x1, x2: x1,
            "x2": lambda x1, x2: x2,
            "x1^2": lambda x1, x2: x1 * x1,
            "x2^2": lambda x1, x2: x2 * x2,
            "x1x2": lambda x1, x2: x1 * x2,
            "sin_x1": lambda x1, x2: torch.sin(x1),
            "sin_x2": lambda x1, x2: torch.sin(x2),
        }
    )
)

_VALIDATION_STREAM = 1  # the validation draw's seed is (seed, 1); the main draw's is (seed, 0)


def featurize(coords: torch.Tensor, features: tuple[FeatureName, ...]) -> torch.Tensor:
    """(N, 2) float32 x1, x2 → (N, F) float32, one column per feature in the given order."""
    x1, x2 = coords[:, 0], coords[:, 1]
    return torch.stack([_FEATURES[name](x1, x2) for name in features], dim=1)


def _draw(params: PlanarParams, stream: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n shuffled points of the problem from the seed's `stream`: (coords (n, 2), targets (n,))."""
    rng = np.random.default_rng([params.seed, stream])
    xy, labels = PLANAR_PROBLEMS[params.name].sample(rng, n, params.noise)
    order = rng.permutation(n)
    coords = torch.from_numpy(xy[order].astype(np.float32))
    if PLANAR_PROBLEMS[params.name].kind is TaskKind.CLASSIFICATION:
        return coords, torch.from_numpy((labels[order] > 0).astype(np.int64))
    return coords, torch.from_numpy(labels[order].astype(np.float32))


def generate(params: PlanarParams) -> Dataset:
    """The problem's points split into train and test, plus a validation set drawn apart."""
    coords, targets = _draw(params, 0, params.points)
    cut = int(params.points * params.train_ratio)  # TF Playground floors it too
    inputs = featurize(coords, params.features)
    val_coords, val_targets = _draw(params, _VALIDATION_STREAM, params.points - cut)
    kind = PLANAR_PROBLEMS[params.name].kind
    return Dataset(
        name=params.name,
        kind=kind,
        input_shape=(len(params.features),),
        classes=PLANAR_CLASSES if kind is TaskKind.CLASSIFICATION else (),
        train=ArraySplit(inputs[:cut], targets[:cut]),
        validation=ArraySplit(featurize(val_coords, params.features), val_targets),
        test=ArraySplit(inputs[cut:], targets[cut:]),
    )


def plane_grid(params: PlanarParams, resolution: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """The plane as an image: (resolution², F) model inputs and (resolution², 2) x1, x2.

    Row-major with the top row first: row i has x2 = 6 - 12·i/(resolution-1), column j has
    x1 = -6 + 12·j/(resolution-1), both edges included.
    """
    if not 2 <= resolution <= 1024:
        raise ValueError(f"resolution: must be 2..1024, got {resolution}")
    steps = torch.linspace(-EXTENT, EXTENT, resolution, dtype=torch.float32)
    x2, x1 = torch.meshgrid(steps.flip(0), steps, indexing="ij")  # (R, R) each
    coords = torch.stack([x1.reshape(-1), x2.reshape(-1)], dim=1)  # (R², 2)
    return featurize(coords, params.features), coords
