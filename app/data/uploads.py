"""A user's uploaded file turned into a `Dataset`, and datasets kept in the data directory.

Two formats, told apart by content: a ZIP of class folders of images, like torchvision's
ImageFolder (`cat/001.png`, `dog/x.jpg`, optionally inside one top folder), and a CSV with a
header, numeric feature columns and a label column. Every bad input raises `UploadError` with a
message that says what is wrong and where (the file inside the ZIP, the CSV line and column).

A CSV's task, unless the `task` option says: regression when every label is a number and there
are more than 20 distinct values, else classification (classes: the distinct labels, sorted,
numerically when all are numbers). A ZIP is always classification.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
import tempfile
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import safetensors
import safetensors.numpy
import safetensors.torch
import torch

from app.data.dataset import ArraySplit, Dataset, TaskKind
from app.data.upload_checks import (
    Readable,
    UploadError,
    UploadFormat,
    UploadLimits,
    check_classes,
    detect_format,
    read_image_folders,
    upload_bytes,
)

__all__ = [
    "DatasetMeta",
    "DatasetSource",
    "DatasetStoreError",
    "UploadError",
    "UploadFormat",
    "UploadLimits",
    "UploadOptions",
    "UploadedDataset",
    "load_dataset",
    "load_meta",
    "read_upload",
    "save_dataset",
    "split_indices",
]

AUTO_REGRESSION_DISTINCT = 20  # numeric labels with more distinct values: regression
CSV_DELIMITERS = (",", ";", "\t")  # the one the header line holds most of
FLOAT32_MAX = float(np.finfo(np.float32).max)
MAX_NAME = 100  # characters of a dataset name
SPLIT_NAMES = ("train", "validation", "test")
STORE_FORMAT = "nnp-dataset-v1"
META_NAME = "dataset.json"
TENSORS_NAME = "dataset.safetensors"


@dataclass(frozen=True)
class UploadOptions:
    """How to read an upload; every field is a choice the user can make."""

    size: tuple[int, int] | Literal["auto"] = (28, 28)  # images' (H, W); auto: first, ≤64×64
    channels: Literal[1, 3] = 1  # 1 grayscale, 3 RGB
    label: str | None = None  # the CSV's label column; None: the last
    task: TaskKind | None = None  # CSV: None decides (see the module's docstring)
    seed: int = 0  # the split's shuffle
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)  # train, validation, test


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset came from, kept in its meta."""

    format: str  # "zip" or "csv" for uploads
    features: tuple[str, ...] = ()  # a CSV's feature columns, in input order
    label: str | None = None  # a CSV's label column


@dataclass(frozen=True)
class UploadedDataset:
    """An upload read into a dataset, and what it was."""

    dataset: Dataset
    source: DatasetSource


@dataclass(frozen=True)
class DatasetMeta:
    """What a stored dataset's JSON says, readable without loading its tensors."""

    name: str
    kind: TaskKind
    classes: tuple[str, ...]
    input_shape: tuple[int, ...]
    split_sizes: tuple[int, int, int]  # train, validation, test
    source: DatasetSource | None
    created: datetime


class DatasetStoreError(Exception):
    """A stored dataset is missing, incomplete or corrupt; the message says which file."""


def read_upload(
    upload: bytes | Readable,
    name: str,
    options: UploadOptions | None = None,
    limits: UploadLimits | None = None,
) -> UploadedDataset:
    """Check an uploaded ZIP or CSV and turn it into a dataset split by `options.seed`."""
    options = options or UploadOptions()
    limits = limits or UploadLimits()
    name = _checked_name(name)
    task = _check_options(options, limits)
    raw = upload_bytes(upload, limits.max_upload_bytes)
    if detect_format(raw) is UploadFormat.ZIP:
        if task is TaskKind.REGRESSION:
            raise UploadError("a ZIP of class folders is for classification, not regression")
        size = None if options.size == "auto" else options.size
        folders = read_image_folders(raw, size, options.channels, limits)
        inputs = torch.from_numpy(folders.images)
        kind, targets, classes = (
            TaskKind.CLASSIFICATION,
            torch.from_numpy(folders.labels),
            folders.classes,
        )
        source = DatasetSource(UploadFormat.ZIP.value)
    else:
        table = _read_csv(raw, options.label, limits)
        kind, target_array, classes = _targets(table, task, limits)
        inputs, targets = torch.from_numpy(table.features), torch.from_numpy(target_array)
        source = DatasetSource(UploadFormat.CSV.value, table.feature_names, table.label_name)
    labels = targets.numpy() if kind is TaskKind.CLASSIFICATION else None
    parts = split_indices(len(targets), labels, options.fractions, options.seed)
    train, validation, test = (
        ArraySplit(inputs[torch.from_numpy(part)], targets[torch.from_numpy(part)])
        for part in parts
    )
    dataset = Dataset(
        name=name,
        kind=kind,
        input_shape=tuple(inputs.shape[1:]),
        classes=classes,
        train=train,
        validation=validation,
        test=test,
    )
    return UploadedDataset(dataset, source)


def _checked_name(name: str) -> str:
    """A dataset name, stripped: 1 to 100 printable characters."""
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise UploadError(f"a dataset name must be 1 to {MAX_NAME} printable characters")
    return name


def _check_options(options: UploadOptions, limits: UploadLimits) -> TaskKind | None:
    """Refuse options out of range; return the task asked for (None: decide)."""
    size = options.size
    if size != "auto" and not (
        isinstance(size, tuple)
        and len(size) == 2
        and all(type(side) is int and 1 <= side <= limits.max_side for side in size)
    ):
        raise UploadError(
            f"size must be 'auto' or (height, width) with sides 1 to {limits.max_side}; "
            f"got {size!r}"
        )
    if options.channels not in (1, 3):
        raise UploadError(f"channels must be 1 (grayscale) or 3 (RGB); got {options.channels!r}")
    fractions = options.fractions
    if not (
        len(fractions) == 3
        and all(isinstance(part, int | float) and part >= 0 for part in fractions)
        and fractions[0] > 0
        and math.isclose(sum(fractions), 1.0, abs_tol=1e-6)
    ):
        raise UploadError(
            "fractions must be three non-negative numbers (train > 0, validation, test) that "
            f"add up to 1; got {fractions!r}"
        )
    if type(options.seed) is not int or options.seed < 0:
        raise UploadError(f"seed must be a non-negative integer; got {options.seed!r}")
    if options.label is not None and not (isinstance(options.label, str) and options.label):
        raise UploadError("label must be a column name")
    try:
        return None if options.task is None else TaskKind(options.task)
    except ValueError:
        raise UploadError(
            f"task must be classification or regression; got {options.task!r}"
        ) from None


@dataclass(frozen=True)
class _Table:
    """A CSV read: float32 features (N, F), label texts and the lines they came from."""

    features: npt.NDArray[np.float32]
    feature_names: tuple[str, ...]
    label_name: str
    labels: list[str]
    lines: list[int]


def _read_csv(raw: bytes, label: str | None, limits: UploadLimits) -> _Table:
    """Parse a UTF-8 CSV with a header; every feature cell must be a finite number."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UploadError(
            "the upload is neither a ZIP archive nor a UTF-8 CSV: byte "
            f"0x{raw[error.start]:02x} at offset {error.start:,} is not UTF-8"
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = max(CSV_DELIMITERS, key=first_line.count)  # ties: the comma
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next((row for row in reader if not _blank(row)), None)
        if header is None:
            raise UploadError("the CSV is empty: no header and no rows")
        names, label_index = _check_header(header, label, limits)
        return _read_rows(reader, names, label_index, limits)
    except csv.Error as error:
        raise UploadError(f"CSV line {reader.line_num}: {error}") from None


def _blank(row: list[str]) -> bool:
    """Whether a CSV row is a blank line (a row of empty fields is not)."""
    return not row or (len(row) == 1 and not row[0].strip())


def _check_header(
    header: list[str], label: str | None, limits: UploadLimits
) -> tuple[list[str], int]:
    """Column names (unique, non-empty) and the label column's index."""
    names = [cell.strip() for cell in header]
    if len(names) > limits.max_columns:
        raise UploadError(f"the CSV has {len(names):,} columns; the most is {limits.max_columns:,}")
    if len(names) < 2:
        raise UploadError(
            f"the CSV header has one column ({names[0][:40]!r}); it needs a label column and "
            "at least one feature column, separated by commas, semicolons or tabs"
        )
    for number, column in enumerate(names, start=1):
        if not column:
            raise UploadError(f"CSV header: column {number} has no name")
        if names.index(column) != number - 1:
            raise UploadError(f"CSV header: column name {column!r} appears twice")
    wanted = names[-1] if label is None else label.strip()
    if wanted not in names:
        shown = ", ".join(repr(column) for column in names[:10]) + (
            ", ..." if len(names) > 10 else ""
        )
        raise UploadError(f"the CSV has no column {wanted!r} for the label; its columns: {shown}")
    return names, names.index(wanted)


def _read_rows(reader: Any, names: list[str], label_index: int, limits: UploadLimits) -> _Table:
    """Read the data rows: features into one float array, labels as text."""
    width = len(names)
    feature_columns = [column for column in range(width) if column != label_index]
    max_rows = min(limits.max_samples, limits.max_dataset_bytes // (4 * len(feature_columns)))
    values = array("d")
    labels: list[str] = []
    lines: list[int] = []
    for row in reader:
        if _blank(row):
            continue
        line = reader.line_num
        if len(row) != width:
            raise UploadError(f"CSV line {line} has {len(row)} fields; the header has {width}")
        if len(labels) >= max_rows:
            raise UploadError(
                f"the CSV has more than {max_rows:,} rows (the limit)", too_large=True
            )
        for column in feature_columns:
            values.append(_number(row[column], line, column, names))
        label = row[label_index].strip()
        if not label:
            raise UploadError(
                f"CSV line {line}, column {label_index + 1} ({names[label_index]!r}): "
                "the label is missing"
            )
        labels.append(label)
        lines.append(line)
    if not labels:
        raise UploadError("the CSV has a header but no rows")
    features = np.frombuffer(values, dtype=np.float64).reshape(len(labels), len(feature_columns))
    return _Table(
        features.astype(np.float32),
        tuple(names[column] for column in feature_columns),
        names[label_index],
        labels,
        lines,
    )


def _number(cell: str, line: int, column: int, names: list[str]) -> float:
    """A feature cell as a finite float32-sized number, or an error naming line and column."""
    where = f"CSV line {line}, column {column + 1} ({names[column]!r})"
    text = cell.strip()
    if not text:
        raise UploadError(f"{where}: the value is missing")
    try:
        number = float(text)
    except ValueError:
        raise UploadError(f"{where}: {text[:30]!r} is not a number") from None
    if not math.isfinite(number) or abs(number) > FLOAT32_MAX:
        raise UploadError(f"{where}: {text[:30]!r} is not a finite float32 number")
    return number


def _targets(
    table: _Table, task: TaskKind | None, limits: UploadLimits
) -> tuple[TaskKind, npt.NDArray[Any], tuple[str, ...]]:
    """The task, targets (int64 class indices or float32 values) and class names of a CSV."""
    numbers = _label_numbers(table.labels)
    if task is None:
        many = numbers is not None and len(set(numbers)) > AUTO_REGRESSION_DISTINCT
        task = TaskKind.REGRESSION if many else TaskKind.CLASSIFICATION
    if task is TaskKind.REGRESSION:
        if numbers is None:
            bad = next(i for i, text in enumerate(table.labels) if _float(text) is None)
            raise UploadError(
                f"CSV line {table.lines[bad]}, label column {table.label_name!r}: "
                f"{table.labels[bad][:30]!r} is not a number, so it cannot be a regression target"
            )
        return task, np.array(numbers, dtype=np.float32), ()
    distinct = set(table.labels)
    if numbers is None:
        classes = tuple(sorted(distinct))
    else:
        classes = tuple(sorted(distinct, key=lambda text: (float(text), text)))
    counts = dict.fromkeys(classes, 0)
    for text in table.labels:
        counts[text] += 1
    check_classes(counts, limits, "rows")
    index = {text: number for number, text in enumerate(classes)}
    return task, np.array([index[text] for text in table.labels], dtype=np.int64), classes


def _label_numbers(labels: list[str]) -> list[float] | None:
    """Every label as a finite number, or None if any is not one."""
    numbers = []
    for text in labels:
        number = _float(text)
        if number is None:
            return None
        numbers.append(number)
    return numbers


def _float(text: str) -> float | None:
    """`text` as a finite float32-sized number, or None."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) and abs(number) <= FLOAT32_MAX else None


def split_indices(
    count: int,
    labels: npt.NDArray[np.int64] | None,
    fractions: tuple[float, float, float],
    seed: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Shuffled train, validation and test indices; stratified per class when `labels` given.

    Each class (or the whole set) gives round-half-up(n × fraction) to validation and to test,
    keeping at least one for training; a split with a positive fraction that comes out empty is
    an error (too few samples).
    """
    rng = np.random.default_rng(seed)
    groups = (
        [np.arange(count)]
        if labels is None
        else [np.flatnonzero(labels == label) for label in np.unique(labels)]
    )
    parts: list[list[npt.NDArray[np.int64]]] = [[], [], []]
    for group in groups:
        shuffled = rng.permutation(group)
        size = len(shuffled)
        validation, test = (math.floor(size * fraction + 0.5) for fraction in fractions[1:])
        while validation + test >= size and validation + test > 0:  # keep one for training
            if test >= validation:
                test -= 1
            else:
                validation -= 1
        cuts = np.split(shuffled, [size - validation - test, size - test])
        for part, piece in zip(parts, cuts, strict=True):
            part.append(piece)
    result = tuple(rng.permutation(np.concatenate(part)).astype(np.int64) for part in parts)
    for split_name, indices, fraction in zip(SPLIT_NAMES, result, fractions, strict=True):
        if fraction > 0 and len(indices) == 0:
            raise UploadError(
                f"{count} samples are too few to give the {split_name} split any "
                f"({fraction:g} of them); upload more or change the fractions"
            )
    return result[0], result[1], result[2]


def save_dataset(dataset: Dataset, directory: Path, source: DatasetSource | None = None) -> None:
    """Write the tensors (safetensors) and the meta (JSON) as `directory`, all or nothing.

    Both files are written into a temporary sibling directory that is renamed into place, so
    `directory` appears complete or not at all. It must not exist yet, or be empty.
    """
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise FileExistsError(f"{directory} already exists and is not empty")
    arrays = {
        f"{split_name}.{part}": np.ascontiguousarray(getattr(split, part).detach().cpu().numpy())
        for split_name, split in zip(SPLIT_NAMES, _splits(dataset), strict=True)
        for part in ("inputs", "targets")
    }
    tensor_bytes: bytes = safetensors.numpy.save(arrays, metadata={"format": STORE_FORMAT})
    meta = {
        "format": STORE_FORMAT,
        "name": dataset.name,
        "kind": dataset.kind.value,
        "classes": list(dataset.classes),
        "input_shape": list(dataset.input_shape),
        "splits": {
            name: len(split) for name, split in zip(SPLIT_NAMES, _splits(dataset), strict=True)
        },
        "source": None
        if source is None
        else {"format": source.format, "features": list(source.features), "label": source.label},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "tensors": {"file": TENSORS_NAME, "sha256": hashlib.sha256(tensor_bytes).hexdigest()},
    }
    directory.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(
        tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.", suffix=".tmp")
    )
    try:
        _write(temporary / TENSORS_NAME, tensor_bytes)
        _write(temporary / META_NAME, json.dumps(meta, indent=2, ensure_ascii=False).encode())
        temporary.chmod(0o755)  # mkdtemp makes it 0o700
        os.rename(temporary, directory)  # replaces an empty directory, never a full one
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    _fsync_directory(directory.parent)


def _splits(dataset: Dataset) -> tuple[ArraySplit, ArraySplit, ArraySplit]:
    """The dataset's splits in SPLIT_NAMES order."""
    return dataset.train, dataset.validation, dataset.test


def _write(path: Path, content: bytes) -> None:
    """Write and flush a new file to disk."""
    with path.open("xb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())


def _fsync_directory(path: Path) -> None:
    """Make a rename in `path` durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def load_meta(directory: Path) -> DatasetMeta:
    """Read and check a stored dataset's JSON meta."""
    meta = _raw_meta(Path(directory))
    try:
        source = meta["source"]
        sizes = tuple(int(meta["splits"][name]) for name in SPLIT_NAMES)
        return DatasetMeta(
            name=str(meta["name"]),
            kind=TaskKind(meta["kind"]),
            classes=tuple(str(name) for name in meta["classes"]),
            input_shape=tuple(int(side) for side in meta["input_shape"]),
            split_sizes=(sizes[0], sizes[1], sizes[2]),
            source=None
            if source is None
            else DatasetSource(
                str(source["format"]),
                tuple(str(name) for name in source["features"]),
                None if source["label"] is None else str(source["label"]),
            ),
            created=datetime.fromisoformat(meta["created"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DatasetStoreError(f"{directory / META_NAME} is malformed: {error!r}") from None


def _raw_meta(directory: Path) -> dict[str, Any]:
    """The meta JSON as a dict, its format checked."""
    path = directory / META_NAME
    try:
        meta = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise DatasetStoreError(f"{path} not found; {directory} holds no stored dataset") from None
    except (OSError, ValueError) as error:
        raise DatasetStoreError(f"cannot read {path}: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != STORE_FORMAT:
        raise DatasetStoreError(f"{path} is not a {STORE_FORMAT} dataset meta")
    return meta


def load_dataset(directory: Path) -> Dataset:
    """Load a stored dataset, checking its tensors' hash, dtypes and shapes against its meta."""
    directory = Path(directory)
    meta = load_meta(directory)
    path = directory / TENSORS_NAME
    try:
        tensor_bytes = path.read_bytes()
    except OSError as error:
        raise DatasetStoreError(f"cannot read {path}: {error}") from None
    expected = _raw_meta(directory)["tensors"]["sha256"]
    if hashlib.sha256(tensor_bytes).hexdigest() != expected:
        raise DatasetStoreError(f"{path} is corrupt or was modified (its sha256 does not match)")
    try:
        tensors = safetensors.torch.load(tensor_bytes)
    except safetensors.SafetensorError as error:
        raise DatasetStoreError(f"cannot parse {path}: {error}") from None
    splits = [
        _loaded_split(tensors, name, size, meta, path)
        for name, size in zip(SPLIT_NAMES, meta.split_sizes, strict=True)
    ]
    train, validation, test = splits
    return Dataset(
        name=meta.name,
        kind=meta.kind,
        input_shape=meta.input_shape,
        classes=meta.classes,
        train=train,
        validation=validation,
        test=test,
    )


def _loaded_split(
    tensors: dict[str, torch.Tensor], name: str, size: int, meta: DatasetMeta, path: Path
) -> ArraySplit:
    """One split from the file, checked against the meta."""
    inputs, targets = tensors.get(f"{name}.inputs"), tensors.get(f"{name}.targets")
    input_dtype = torch.uint8 if len(meta.input_shape) == 3 else torch.float32
    classification = meta.kind is TaskKind.CLASSIFICATION
    target_dtype = torch.int64 if classification else torch.float32
    if (
        inputs is None
        or targets is None
        or inputs.dtype != input_dtype
        or targets.dtype != target_dtype
        or tuple(inputs.shape) != (size, *meta.input_shape)
        or tuple(targets.shape) != (size,)
        or (
            classification
            and size
            and not 0 <= int(targets.min()) <= int(targets.max()) < len(meta.classes)
        )
    ):
        raise DatasetStoreError(f"{path} has no valid {name!r} split for its meta")
    return ArraySplit(inputs, targets)
