"""Fashion-MNIST: Debian's hash-pinned IDX files, converted once to a verified safetensors cache.

Set-up (`ensure_fashion_mnist`) finds the four gzipped IDX files that the Debian package
`dataset-fashion-mnist` installs, checks their sha256, parses them with numpy (no pickle) and
writes `fashion-mnist.safetensors`. Everything else (`load_fashion_mnist`) only reads that cache,
after checking its size and sha256. The 60,000 training images are split 50,000 train and
10,000 validation, like MNIST's; the 10,000 test images are the test split.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from app.data.dataset import ArraySplit, Dataset, TaskKind
from app.data.pinned_cache import PinnedCache

DEFAULT_SOURCE_DIR = Path("/usr/share/datasets/fashion-mnist")
SOURCE_DIR_ENV = "NNP_FASHION_MNIST_DIR"  # read by the caller (set-up), not here
ADD_HINT = (
    "add it with `apt-get install dataset-fashion-mnist`, then run the set-up "
    "(`make run` or `.venv/bin/python -m app.data.fetch`); or set "
    f"{SOURCE_DIR_ENV} to a directory holding its four IDX .gz files"
)
SETUP_HINT = "run the set-up: make run / .venv/bin/python -m app.data.fetch"

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
# sha256 of the files of dataset-fashion-mnist 0.0~git20200523.55506a9-1 (Debian bookworm).
SOURCE_SHA256 = {
    TRAIN_IMAGES: "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    TRAIN_LABELS: "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    TEST_IMAGES: "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    TEST_LABELS: "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}

CACHE_NAME = "fashion-mnist.safetensors"
CACHE_FORMAT = "nnp-fashion-mnist-v1"
CACHE_SIZE = 54_950_568
# Written by safetensors.numpy.save, like MNIST's cache: a safetensors release that lays the file
# out differently changes this hash (constraints.txt pins it), and set-up says so.
CACHE_SHA256 = "63f9840e5150d4a48b2b6b0cf6736d42f769474a62c8d2826f590bbd753fbdfd"

CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
IMAGE_SIDE = 28
INPUT_SHAPE = (1, IMAGE_SIDE, IMAGE_SIDE)
TRAIN_SOURCE_SIZE = 60_000
SPLIT_SIZES = {"train": 50_000, "validation": 10_000, "test": 10_000}
IDX_UNSIGNED_BYTE = 0x08  # the IDX type code of uint8 data


class FashionMnistError(Exception):
    """Fashion-MNIST is corrupt or could not be converted; the message says what to do."""


class FashionMnistMissingError(FashionMnistError):
    """Fashion-MNIST is not installed: neither its cache nor its IDX files are there."""


CACHE = PinnedCache(
    "Fashion-MNIST cache", CACHE_SIZE, CACHE_SHA256, CACHE_FORMAT, FashionMnistError, SETUP_HINT
)


def cache_path(cache_dir: Path) -> Path:
    """Where the converted Fashion-MNIST cache lives inside `cache_dir`."""
    return Path(cache_dir) / CACHE_NAME


def source_dirs(override: Path | None) -> tuple[Path, ...]:
    """Where the IDX files are looked for: `override` (NNP_FASHION_MNIST_DIR) if set, else
    Debian's directory."""
    return (override,) if override is not None else (DEFAULT_SOURCE_DIR,)


def find_source_dir(candidates: Iterable[Path]) -> Path:
    """The first of `candidates` holding all four IDX files; raise FashionMnistMissingError."""
    searched = [Path(directory) for directory in candidates]
    for directory in searched:
        if all((directory / name).is_file() for name in SOURCE_SHA256):
            return directory
    raise FashionMnistMissingError(
        f"Fashion-MNIST not found: {', '.join(SOURCE_SHA256)} are not all in "
        f"{', '.join(map(str, searched)) or 'any directory'}; {ADD_HINT}"
    )


def ensure_fashion_mnist(
    cache_dir: Path, candidates: Iterable[Path] = (DEFAULT_SOURCE_DIR,)
) -> Path:
    """Make sure `cache_dir` holds a valid cache (convert the IDX files found in `candidates`
    if not); return its path. A valid cache needs no IDX files."""
    path = cache_path(cache_dir)
    try:
        if path.is_file() and CACHE.is_valid(path):
            return path
        CACHE.write(path, _arrays_from_idx(find_source_dir(candidates)))
    except OSError as error:
        raise FashionMnistError(f"cannot set up Fashion-MNIST in {cache_dir}: {error}") from error
    return path


def load_fashion_mnist(cache_dir: Path) -> Dataset:
    """Verify the cache's size and sha256 and load it as a Dataset; raise
    FashionMnistMissingError if there is no cache, FashionMnistError if it is bad."""
    path = cache_path(cache_dir)
    try:
        cache_bytes = path.read_bytes()
    except FileNotFoundError:
        raise FashionMnistMissingError(
            f"Fashion-MNIST cache {path} not found; {ADD_HINT}"
        ) from None
    except OSError as error:
        raise FashionMnistError(f"cannot read Fashion-MNIST cache {path}: {error}") from error
    tensors = CACHE.parse(path, cache_bytes)
    return Dataset(
        name="fashion-mnist",
        kind=TaskKind.CLASSIFICATION,
        input_shape=INPUT_SHAPE,
        classes=CLASSES,
        train=_split_from_tensors(tensors, "train"),
        validation=_split_from_tensors(tensors, "validation"),
        test=_split_from_tensors(tensors, "test"),
    )


def parse_idx(data: bytes, shape: tuple[int, ...], what: str) -> npt.NDArray[np.uint8]:
    """Parse uncompressed IDX bytes of unsigned bytes that must have exactly `shape`.

    IDX: two zero bytes, the type code (0x08: uint8), the number of dimensions, each dimension
    as a big-endian uint32, then the data in C order. `what` names the data in errors.
    """
    expected_magic = (IDX_UNSIGNED_BYTE << 8) | len(shape)
    header_size = 4 + 4 * len(shape)
    if len(data) < 4:
        raise FashionMnistError(f"{what} is truncated: {len(data)} bytes, no IDX magic number")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise FashionMnistError(
            f"{what} has IDX magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"(unsigned bytes, {len(shape)} dimensions)"
        )
    if len(data) < header_size:
        raise FashionMnistError(
            f"{what} is truncated: {len(data)} bytes, shorter than its {header_size}-byte header"
        )
    dims = tuple(int(size) for size in np.frombuffer(data, ">u4", len(shape), offset=4))
    if dims != shape:
        raise FashionMnistError(f"{what} has dimensions {dims}, expected {shape}")
    body = len(data) - header_size
    if body != math.prod(shape):
        raise FashionMnistError(
            f"{what} has {body} data bytes, expected {math.prod(shape)} "
            "(truncated or with trailing bytes)"
        )
    return np.frombuffer(data, np.uint8, offset=header_size).reshape(shape)


def read_source(directory: Path, name: str) -> bytes:
    """Check the sha256 of the gzipped IDX file `name` in `directory`; return it decompressed."""
    path = Path(directory) / name
    packed = path.read_bytes()
    actual = hashlib.sha256(packed).hexdigest()
    if actual != SOURCE_SHA256[name]:
        raise FashionMnistError(
            f"{path} has sha256 {actual}, expected {SOURCE_SHA256[name]}; refusing to use it "
            "(reinstall it: `apt-get install --reinstall dataset-fashion-mnist`)"
        )
    try:
        return gzip.decompress(packed)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise FashionMnistError(f"cannot decompress {path}: {error}") from error


def _arrays_from_idx(directory: Path) -> dict[str, npt.NDArray[np.uint8]]:
    """Read the four IDX files into the cache's uint8 arrays: images (N, 1, 28, 28), labels (N,)."""
    side = (IMAGE_SIDE, IMAGE_SIDE)
    sources = {
        "train": (TRAIN_IMAGES, TRAIN_LABELS, TRAIN_SOURCE_SIZE),
        "test": (TEST_IMAGES, TEST_LABELS, SPLIT_SIZES["test"]),
    }
    parsed: dict[str, tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]] = {}
    for source, (images_name, labels_name, size) in sources.items():
        images = parse_idx(read_source(directory, images_name), (size, *side), images_name)
        labels = parse_idx(read_source(directory, labels_name), (size,), labels_name)
        if int(labels.max()) >= len(CLASSES):
            raise FashionMnistError(f"{labels_name} has label {labels.max()}, not 0..9")
        parsed[source] = images.reshape(size, *INPUT_SHAPE), labels
    cut = SPLIT_SIZES["train"]
    (train_images, train_labels), test = parsed["train"], parsed["test"]
    splits = {
        "train": (train_images[:cut], train_labels[:cut]),
        "validation": (train_images[cut:], train_labels[cut:]),
        "test": test,
    }
    arrays: dict[str, npt.NDArray[np.uint8]] = {}
    for name, (images, labels) in splits.items():
        arrays[f"{name}.images"] = np.ascontiguousarray(images)
        arrays[f"{name}.labels"] = np.ascontiguousarray(labels)
    return arrays


def _split_from_tensors(tensors: dict[str, torch.Tensor], name: str) -> ArraySplit:
    """Build one split from the cache's tensors, checking dtypes and shapes."""
    images, labels = CACHE.split(tensors, name, SPLIT_SIZES[name], INPUT_SHAPE)
    return ArraySplit(inputs=images, targets=labels)
