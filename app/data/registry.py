"""The datasets a run can train on, by what a run's config names them.

A reference is a name (`"mnist"`, `"fashion-mnist"`, a 2-D problem such as `"spiral"` with
its defaults, an uploaded dataset's id such as `"ds_…"`) or a 2-D problem with parameters
(`{"name": "spiral", "noise": 0.1}`). Each kind
of source is one entry of `SOURCES`; a new dataset plugs in there. `Datasets` answers what a
reference is (cheaply, without loading it) and loads it, each big dataset once per process.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from app.data import fashion, planar, uploads
from app.data.dataset import Dataset, TaskKind
from app.data.mnist import Mnist, load_mnist
from app.data.planar import PlanarParams

DatasetRef = str | PlanarParams
DEFAULT_DATASET = "mnist"


class DatasetError(ValueError):
    """A reference names no dataset, bad parameters, or one that is not installed here."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, without its samples."""

    name: str  # what a run's config names it
    title: str
    kind: TaskKind
    input_shape: tuple[int, ...]
    classes: tuple[str, ...]  # () for regression
    splits: Mapping[str, int]  # train / validation / test sizes
    source: str  # "built-in", "generated" (from a seed, no files) or "upload"
    description: str = ""
    available: bool = True
    note: str | None = None  # why it is not available and how to add it
    params: Mapping[str, Any] | None = field(default=None)  # generated: the parameters used

    @property
    def outputs(self) -> int:
        """How many outputs a model needs: one per class, or 1 for regression."""
        return len(self.classes) if self.kind is TaskKind.CLASSIFICATION else 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the dataset list (uploads also carry their `name` as `id`)."""
        return {
            **({"id": self.name} if is_upload_id(self.name) else {}),
            "name": self.name,
            "title": self.title,
            "kind": self.kind.value,
            "input_shape": list(self.input_shape),
            "classes": list(self.classes),
            "outputs": self.outputs,
            "splits": dict(self.splits),
            "source": self.source,
            "description": self.description,
            "available": self.available,
            "note": self.note,
            "params": dict(self.params) if self.params is not None else None,
        }


@dataclass(frozen=True)
class DatasetPlaces:
    """Where the files of the built-in datasets are (it travels to training processes).
    `mnist_dir` is looked up when first needed; the other caches are looked for in `search`,
    in order (the places set-up fills)."""

    mnist_dir: Callable[[], Path] | Path
    search: tuple[Path, ...] = ()
    uploads: Path | None = None  # DATA_DIR/datasets: one folder per uploaded dataset

    def find(self, name: str, size: int) -> Path | None:
        """The first directory of `search` holding the file `name` of `size` bytes."""
        for directory in self.search:
            with contextlib.suppress(OSError):
                if (directory / name).stat().st_size == size:
                    return directory
        return None

    def mnist(self) -> Path:
        """The directory holding the MNIST (and Fashion-MNIST) caches."""
        return self.mnist_dir() if callable(self.mnist_dir) else self.mnist_dir


class Source(Protocol):
    """One kind of dataset."""

    def names(self) -> tuple[str, ...]:
        """The names it lists (every one of them is always there)."""

    def accepts(self, name: str) -> bool:
        """Whether `name` is one of its own (it may not exist)."""

    def info(self, ref: DatasetRef, places: DatasetPlaces) -> DatasetInfo:
        """What `ref` is (DatasetError if it cannot be used here)."""

    def load(self, ref: DatasetRef, datasets: Datasets) -> Dataset:
        """The samples."""


class _Named:
    """A source that answers to the names it lists."""

    def names(self) -> tuple[str, ...]:
        raise NotImplementedError

    def accepts(self, name: str) -> bool:
        return name in self.names()


class _Mnist(_Named):
    def names(self) -> tuple[str, ...]:
        return ("mnist",)

    def info(self, ref: DatasetRef, places: DatasetPlaces) -> DatasetInfo:
        return DatasetInfo(
            name="mnist",
            title="MNIST",
            kind=TaskKind.CLASSIFICATION,
            input_shape=(1, 28, 28),
            classes=tuple(str(digit) for digit in range(10)),
            splits={"train": 50_000, "validation": 10_000, "test": 10_000},
            source="built-in",
            description="Handwritten digits 0–9, 28×28 grey.",
        )

    def load(self, ref: DatasetRef, datasets: Datasets) -> Dataset:
        return datasets.mnist().to_dataset()


class _FashionMnist(_Named):
    def names(self) -> tuple[str, ...]:
        return ("fashion-mnist",)

    def info(self, ref: DatasetRef, places: DatasetPlaces) -> DatasetInfo:
        available = places.find(fashion.CACHE_NAME, fashion.CACHE_SIZE) is not None
        return DatasetInfo(
            name="fashion-mnist",
            title="Fashion-MNIST",
            kind=TaskKind.CLASSIFICATION,
            input_shape=fashion.INPUT_SHAPE,
            classes=fashion.CLASSES,
            splits=dict(fashion.SPLIT_SIZES),
            source="built-in",
            description="Zalando's clothes in 10 classes, 28×28 grey: MNIST's shape, far harder.",
            available=available,
            note=None if available else f"Fashion-MNIST is not installed here; {fashion.ADD_HINT}",
        )

    def load(self, ref: DatasetRef, datasets: Datasets) -> Dataset:
        directory = datasets.places.find(fashion.CACHE_NAME, fashion.CACHE_SIZE)
        if directory is None:
            raise DatasetError(f"dataset: Fashion-MNIST is not installed here; {fashion.ADD_HINT}")
        try:
            return fashion.load_fashion_mnist(directory)
        except fashion.FashionMnistError as error:
            raise DatasetError(f"dataset: {error}") from None


class _Planar(_Named):
    def names(self) -> tuple[str, ...]:
        return planar.PLANAR_NAMES

    def info(self, ref: DatasetRef, places: DatasetPlaces) -> DatasetInfo:
        params = _planar_params(ref)
        problem = planar.PLANAR_PROBLEMS[params.name]
        test = params.points - int(params.points * params.train_ratio)
        return DatasetInfo(
            name=params.name,
            title=params.name,
            kind=problem.kind,
            input_shape=(len(params.features),),
            classes=planar.PLANAR_CLASSES if problem.kind is TaskKind.CLASSIFICATION else (),
            splits={"train": params.points - test, "validation": test, "test": test},
            source="generated",
            description=problem.description,
            params=params.model_dump(mode="json"),
        )

    def load(self, ref: DatasetRef, datasets: Datasets) -> Dataset:
        return planar.generate(_planar_params(ref))


def _planar_params(ref: DatasetRef) -> PlanarParams:
    if isinstance(ref, PlanarParams):
        return ref
    return PlanarParams.model_validate({"name": ref})


def planar_params(ref: DatasetRef) -> PlanarParams | None:
    """The parameters of a 2-D problem (its defaults for a bare name); None for other data."""
    if isinstance(ref, PlanarParams) or ref in planar.PLANAR_NAMES:
        return _planar_params(ref)
    return None


class _Upload:
    """Datasets people uploaded, by id; each in a folder of the data directory. What one is
    (its meta file) is read once per version of that file: run views and predictions ask often."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._infos: dict[tuple[Path, int], DatasetInfo] = {}  # by (meta file, mtime), oldest first

    def names(self) -> tuple[str, ...]:
        return ()  # listed per owner by the service, not here

    def accepts(self, name: str) -> bool:
        return is_upload_id(name)

    def info(self, ref: DatasetRef, places: DatasetPlaces) -> DatasetInfo:
        folder = self._folder(ref, places)
        try:
            version = (folder, (folder / uploads.META_NAME).stat().st_mtime_ns)
        except OSError:
            raise DatasetError(f"dataset: no dataset '{ref}'") from None
        with self._lock:
            cached = self._infos.get(version)
        if cached is not None:
            return cached
        try:
            meta = uploads.load_meta(folder)
        except uploads.DatasetStoreError as error:
            raise DatasetError(f"dataset: {error}") from None
        train, validation, test = meta.split_sizes
        info = DatasetInfo(
            name=str(ref),
            title=meta.name,
            kind=meta.kind,
            input_shape=meta.input_shape,
            classes=meta.classes,
            splits={"train": train, "validation": validation, "test": test},
            source="upload",
            description=f"uploaded {meta.source.format if meta.source else 'file'}",
        )
        with self._lock:
            self._infos[version] = info
            while len(self._infos) > KEPT_INFOS:
                self._infos.pop(next(iter(self._infos)))
        return info

    def load(self, ref: DatasetRef, datasets: Datasets) -> Dataset:
        try:
            return uploads.load_dataset(self._folder(ref, datasets.places))
        except uploads.DatasetStoreError as error:
            raise DatasetError(f"dataset: {error}") from None

    def _folder(self, ref: DatasetRef, places: DatasetPlaces) -> Path:
        folder = upload_folder(places, str(ref))
        if folder is None or not (folder / uploads.META_NAME).is_file():
            raise DatasetError(f"dataset: no dataset '{ref}'")
        return folder


UPLOAD_PREFIX = "ds_"
KEPT_INFOS = 256  # uploads whose meta stays read
KEPT_LOADED = 4  # datasets loaded from files that stay in memory (MNIST is kept apart)


def dataset_key(ref: DatasetRef) -> str:
    """One string per dataset reference, for caches: the name, or the parameters as JSON."""
    return ref if isinstance(ref, str) else ref.model_dump_json()


def is_upload_id(name: str) -> bool:
    """Whether `name` has the form of an uploaded dataset's id (ds_ and 32 hex digits)."""
    rest = name.removeprefix(UPLOAD_PREFIX)
    return rest != name and len(rest) == 32 and all(c in "0123456789abcdef" for c in rest)


def upload_folder(places: DatasetPlaces, dataset_id: str) -> Path | None:
    """Where an uploaded dataset's files are (None: no uploads here, or not an id)."""
    if places.uploads is None or not is_upload_id(dataset_id):
        return None
    return places.uploads / dataset_id


SOURCES: tuple[Source, ...] = (_Mnist(), _FashionMnist(), _Planar(), _Upload())


def parse_ref(raw: object) -> DatasetRef:
    """A config's `dataset` value as a reference (DatasetError naming what is wrong)."""
    if isinstance(raw, PlanarParams):
        return raw
    if isinstance(raw, str):
        if _source_of(raw) is None:
            known = ", ".join(name for source in SOURCES for name in source.names())
            raise DatasetError(f"dataset: unknown dataset '{raw}'; known: {known}")
        return raw
    if isinstance(raw, Mapping):
        name = raw.get("name")
        if isinstance(name, str) and name in planar.PLANAR_NAMES:
            try:
                return PlanarParams.model_validate(dict(raw))
            except ValidationError as error:
                detail = error.errors()[0]
                where = ".".join(str(part) for part in detail["loc"])
                raise DatasetError(f"dataset.{where}: {detail['msg']}") from None
        problems = ", ".join(planar.PLANAR_NAMES)
        raise DatasetError(f"dataset: parameters are for the 2-D problems ({problems}) only")
    raise DatasetError("dataset: a dataset name, or an object with the 2-D problem's `name`")


def _source_of(name: str) -> Source | None:
    return next((source for source in SOURCES if source.accepts(name)), None)


class Datasets:
    """Describes and loads datasets by reference; each loaded one is kept (they are read-only).
    `mnist`: MNIST already in memory (tests hand it over)."""

    def __init__(self, places: DatasetPlaces, mnist: Mnist | None = None) -> None:
        self.places = places
        self._mnist = mnist
        self._mnist_lock = threading.Lock()  # loading takes seconds: not under self._lock
        self._lock = threading.Lock()
        self._loaded: dict[str, Dataset] = {}

    def mnist(self) -> Mnist:
        """MNIST in its own form, loaded once (predictions read its validation digits)."""
        with self._mnist_lock:
            if self._mnist is None:
                self._mnist = load_mnist(self.places.mnist())
            return self._mnist

    def preloaded_mnist(self) -> Mnist | None:
        """MNIST if it is in memory already (handed to training processes), else None."""
        return self._mnist

    def info(self, ref: DatasetRef) -> DatasetInfo:
        """What `ref` is (DatasetError if unknown)."""
        return self._source(ref).info(ref, self.places)

    def infos(self) -> list[DatasetInfo]:
        """Every built-in dataset and 2-D problem (with its default parameters)."""
        return [source.info(name, self.places) for source in SOURCES for name in source.names()]

    def load(self, ref: DatasetRef) -> Dataset:
        """The dataset's samples (DatasetError if it is not available). The last few read from
        files are kept; generated ones are made each time (milliseconds), so parameters never
        pile up."""
        source = self._source(ref)
        if isinstance(source, _Planar):
            return source.load(ref, self)
        key = dataset_key(ref)
        with self._lock:
            cached = self._loaded.get(key)
        if cached is not None:
            return cached
        dataset = source.load(ref, self)
        with self._lock:
            dataset = self._loaded.setdefault(key, dataset)
            while len(self._loaded) > KEPT_LOADED:  # uploads come and go: keep the newest few
                self._loaded.pop(next(iter(self._loaded)))
            return dataset

    def _source(self, ref: DatasetRef) -> Source:
        name = ref if isinstance(ref, str) else ref.name
        source = _source_of(name)
        if source is None:
            raise DatasetError(f"dataset: unknown dataset '{name}'")
        return source
