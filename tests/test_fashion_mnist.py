"""Fashion-MNIST: IDX parsing, the pinned hashes, the helpful 'missing' errors, the real cache."""

import gzip
import hashlib
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from app.data import fashion
from app.data.dataset import Dataset, TaskKind
from app.data.fashion import (
    CACHE_NAME,
    CLASSES,
    DEFAULT_SOURCE_DIR,
    SOURCE_SHA256,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    FashionMnistError,
    FashionMnistMissingError,
    cache_path,
    ensure_fashion_mnist,
    find_source_dir,
    load_fashion_mnist,
    parse_idx,
    read_source,
    source_dirs,
)
from app.data.fetch import main as fetch_main

needs_debian_files = pytest.mark.skipif(
    not DEFAULT_SOURCE_DIR.is_dir(),
    reason=f"{DEFAULT_SOURCE_DIR} is absent: set-up installs dataset-fashion-mnist where apt can",
)


def _idx(shape: tuple[int, ...], body: bytes | None = None, type_code: int = 0x08) -> bytes:
    """IDX bytes: zero, zero, type code, rank, big-endian uint32 dimensions, then the data."""
    header = bytes([0, 0, type_code, len(shape)])
    header += b"".join(size.to_bytes(4, "big") for size in shape)
    if body is None:
        body = bytes(index % 256 for index in range(math.prod(shape)))
    return header + body


def _write_sources(directory: Path, files: dict[str, bytes]) -> None:
    """Write each of `files` gzipped into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_bytes(gzip.compress(content, mtime=0))


def _pin(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """Make the pinned hashes those of the files in `directory`."""
    for name in SOURCE_SHA256:
        digest = hashlib.sha256((directory / name).read_bytes()).hexdigest()
        monkeypatch.setitem(SOURCE_SHA256, name, digest)


# --- IDX parsing --------------------------------------------------------------------------------


def test_parse_idx_reads_images_and_labels() -> None:
    images = parse_idx(_idx((3, 2, 2)), (3, 2, 2), "images")
    assert images.shape == (3, 2, 2)
    assert images.dtype.name == "uint8"
    assert images.ravel().tolist() == list(range(12))
    labels = parse_idx(_idx((4,), bytes([9, 0, 3, 1])), (4,), "labels")
    assert labels.tolist() == [9, 0, 3, 1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_idx((3,)), r"magic number 0x00000801, expected 0x00000803"),  # labels, not images
        (_idx((3, 2, 2), type_code=0x0D), r"magic number 0x00000d03"),  # float32 data
        (b"\x01\x02" + _idx((3, 2, 2))[2:], r"magic number 0x01020803"),
    ],
    ids=["labels-not-images", "float32", "nonzero-lead"],
)
def test_parse_idx_refuses_a_bad_magic_number(data: bytes, message: str) -> None:
    with pytest.raises(FashionMnistError, match=message):
        parse_idx(data, (3, 2, 2), "images")


@pytest.mark.parametrize("shape", [(2, 2, 2), (3, 2, 3), (3, 3, 2)])
def test_parse_idx_refuses_wrong_dimensions(shape: tuple[int, ...]) -> None:
    with pytest.raises(FashionMnistError, match=r"images has dimensions .*, expected \(3, 2, 2\)"):
        parse_idx(_idx(shape), (3, 2, 2), "images")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r"truncated: 0 bytes, no IDX magic number"),
        (_idx((3, 2, 2))[:10], r"truncated: 10 bytes, shorter than its 16-byte header"),
        (_idx((3, 2, 2))[:-1], r"11 data bytes, expected 12"),
        (_idx((3, 2, 2)) + b"\0", r"13 data bytes, expected 12"),
    ],
    ids=["empty", "short-header", "short-body", "trailing-byte"],
)
def test_parse_idx_refuses_truncated_or_padded_data(data: bytes, message: str) -> None:
    with pytest.raises(FashionMnistError, match=message):
        parse_idx(data, (3, 2, 2), "images")


# --- hashes and missing files -------------------------------------------------------------------


def test_every_file_has_a_pinned_sha256() -> None:
    assert set(SOURCE_SHA256) == {TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS}
    assert all(len(digest) == 64 for digest in SOURCE_SHA256.values())


def test_a_file_with_another_hash_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    _write_sources(sources, {name: _idx((1,)) for name in SOURCE_SHA256})
    with pytest.raises(FashionMnistError, match=r"has sha256 [0-9a-f]{64}, expected .*refusing"):
        read_source(sources, TRAIN_LABELS)
    with pytest.raises(FashionMnistError, match=r"refusing to use it") as raised:
        ensure_fashion_mnist(tmp_path / "cache", [sources])
    assert not isinstance(raised.value, FashionMnistMissingError)
    assert not (tmp_path / "cache").exists()


def test_a_pinned_file_that_is_not_gzip_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / TEST_LABELS).write_bytes(b"not gzip")
    monkeypatch.setitem(SOURCE_SHA256, TEST_LABELS, hashlib.sha256(b"not gzip").hexdigest())
    with pytest.raises(FashionMnistError, match=r"cannot decompress"):
        read_source(tmp_path, TEST_LABELS)


def test_small_idx_files_convert_to_the_documented_splits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fashion, "TRAIN_SOURCE_SIZE", 6)
    monkeypatch.setattr(fashion, "SPLIT_SIZES", {"train": 4, "validation": 2, "test": 3})
    _write_sources(
        tmp_path,
        {
            TRAIN_IMAGES: _idx((6, 28, 28)),
            TRAIN_LABELS: _idx((6,), bytes([0, 1, 2, 3, 4, 5])),
            TEST_IMAGES: _idx((3, 28, 28)),
            TEST_LABELS: _idx((3,), bytes([7, 8, 9])),
        },
    )
    _pin(monkeypatch, tmp_path)
    arrays = fashion._arrays_from_idx(tmp_path)
    assert {name: array.shape for name, array in arrays.items()} == {
        "train.images": (4, 1, 28, 28),
        "train.labels": (4,),
        "validation.images": (2, 1, 28, 28),
        "validation.labels": (2,),
        "test.images": (3, 1, 28, 28),
        "test.labels": (3,),
    }
    assert arrays["train.labels"].tolist() == [0, 1, 2, 3]  # the first of the training images
    assert arrays["validation.labels"].tolist() == [4, 5]  # the last ones
    assert arrays["test.labels"].tolist() == [7, 8, 9]
    assert arrays["validation.images"][0, 0, 0, 0] == (4 * 28 * 28) % 256


def test_a_label_outside_the_ten_classes_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fashion, "TRAIN_SOURCE_SIZE", 2)
    monkeypatch.setattr(fashion, "SPLIT_SIZES", {"train": 1, "validation": 1, "test": 1})
    _write_sources(
        tmp_path,
        {
            TRAIN_IMAGES: _idx((2, 28, 28)),
            TRAIN_LABELS: _idx((2,), bytes([0, 10])),
            TEST_IMAGES: _idx((1, 28, 28)),
            TEST_LABELS: _idx((1,), bytes([0])),
        },
    )
    _pin(monkeypatch, tmp_path)
    with pytest.raises(FashionMnistError, match=r"train-labels-idx1-ubyte.gz has label 10"):
        fashion._arrays_from_idx(tmp_path)


def test_missing_files_say_how_to_add_them(tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    _write_sources(partial, {TRAIN_IMAGES: b""})  # one file of four is not enough
    searched = [tmp_path / "absent", partial]
    with pytest.raises(FashionMnistMissingError) as found:
        find_source_dir(searched)
    with pytest.raises(FashionMnistMissingError) as ensured:
        ensure_fashion_mnist(tmp_path / "cache", searched)
    for message in (str(found.value), str(ensured.value)):
        assert f"{tmp_path / 'absent'}, {partial}" in message
        assert "apt-get install dataset-fashion-mnist" in message
        assert "python -m app.data.fetch" in message
        assert "NNP_FASHION_MNIST_DIR" in message


def test_a_missing_cache_says_how_to_add_it(tmp_path: Path) -> None:
    with pytest.raises(FashionMnistMissingError, match=r"cache .* not found.*apt-get install"):
        load_fashion_mnist(tmp_path)


def test_the_env_var_replaces_the_debian_directory() -> None:
    assert source_dirs(None) == (Path("/usr/share/datasets/fashion-mnist"),)
    assert source_dirs(Path("/elsewhere")) == (Path("/elsewhere"),)


# --- the set-up step ----------------------------------------------------------------------------


@pytest.fixture
def fetch_into(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory for fetch_main, with MNIST's part stubbed out."""
    monkeypatch.setattr("app.data.fetch.ensure_mnist", lambda data_dir: data_dir / "mnist")
    monkeypatch.delenv("NNP_FASHION_MNIST_DIR", raising=False)
    return tmp_path / "data"


def test_fetch_skips_fashion_mnist_without_failing_when_its_files_are_absent(
    fetch_into: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NNP_FASHION_MNIST_DIR", str(tmp_path / "empty"))
    assert fetch_main(["--data-dir", str(fetch_into)]) == 0
    out, err = capsys.readouterr()
    assert out == f"MNIST ready: {fetch_into / 'mnist'}\n"
    assert err.startswith("Fashion-MNIST skipped: Fashion-MNIST not found:")
    assert str(tmp_path / "empty") in err
    assert not (fetch_into / CACHE_NAME).exists()


def test_fetch_converts_fashion_mnist_into_the_mnist_directory(
    fetch_into: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[Path, tuple[Path, ...]]] = []

    def ensure(cache_dir: Path, candidates: tuple[Path, ...]) -> Path:
        calls.append((cache_dir, candidates))
        return cache_path(cache_dir)

    monkeypatch.setattr("app.data.fetch.ensure_fashion_mnist", ensure)
    assert fetch_main(["--data-dir", str(fetch_into)]) == 0
    monkeypatch.setenv("NNP_FASHION_MNIST_DIR", "/elsewhere")
    assert fetch_main(["--data-dir", str(fetch_into)]) == 0
    assert calls == [(fetch_into, (DEFAULT_SOURCE_DIR,)), (fetch_into, (Path("/elsewhere"),))]
    assert capsys.readouterr().err == f"Fashion-MNIST ready: {fetch_into / CACHE_NAME}\n" * 2


def test_fetch_fails_when_the_fashion_mnist_files_are_bad(
    fetch_into: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write_sources(tmp_path / "bad", {name: _idx((1,)) for name in SOURCE_SHA256})
    monkeypatch.setenv("NNP_FASHION_MNIST_DIR", str(tmp_path / "bad"))
    assert fetch_main(["--data-dir", str(fetch_into)]) == 1
    assert capsys.readouterr().err.startswith("Fashion-MNIST set-up failed: ")


# --- the real data (set-up installs dataset-fashion-mnist) -------------------------------------


@pytest.fixture(scope="module")
def real_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory holding the cache converted from Debian's files."""
    cache_dir = tmp_path_factory.mktemp("fashion")
    ensure_fashion_mnist(cache_dir, [DEFAULT_SOURCE_DIR])
    return cache_dir


@pytest.fixture(scope="module")
def real(real_cache_dir: Path) -> Dataset:
    """The real Fashion-MNIST, loaded once."""
    return load_fashion_mnist(real_cache_dir)


@needs_debian_files
def test_the_real_data_has_the_documented_form(real: Dataset) -> None:
    assert real.kind is TaskKind.CLASSIFICATION
    assert real.classes == CLASSES
    assert len(real.classes) == real.outputs == 10
    assert real.input_shape == (1, 28, 28)
    assert real.is_image
    for split, size in [(real.train, 50_000), (real.validation, 10_000), (real.test, 10_000)]:
        assert split.inputs.dtype == torch.uint8
        assert split.inputs.shape == (size, 1, 28, 28)
        assert split.targets.dtype == torch.int64
        assert split.targets.shape == (size,)
        assert int(split.inputs.min()) == 0
        assert int(split.inputs.max()) == 255


@needs_debian_files
def test_the_real_classes_are_balanced(real: Dataset) -> None:
    train_60k = torch.cat([real.train.targets, real.validation.targets])
    assert torch.bincount(train_60k, minlength=10).tolist() == [6_000] * 10
    assert torch.bincount(real.test.targets, minlength=10).tolist() == [1_000] * 10


@needs_debian_files
def test_the_splits_are_the_first_50k_the_last_10k_and_the_test_set(real: Dataset) -> None:
    side = (28, 28)
    images = parse_idx(read_source(DEFAULT_SOURCE_DIR, TRAIN_IMAGES), (60_000, *side), "train")
    labels = parse_idx(read_source(DEFAULT_SOURCE_DIR, TRAIN_LABELS), (60_000,), "labels")
    test = parse_idx(read_source(DEFAULT_SOURCE_DIR, TEST_IMAGES), (10_000, *side), "test")
    assert torch.equal(real.train.inputs[:, 0], torch.tensor(images[:50_000]))
    assert torch.equal(real.validation.inputs[:, 0], torch.tensor(images[50_000:]))
    assert torch.equal(real.validation.targets, torch.tensor(labels[50_000:]).long())
    assert torch.equal(real.test.inputs[:, 0], torch.tensor(test))


@needs_debian_files
def test_a_valid_cache_is_left_alone_and_needs_no_source(real_cache_dir: Path) -> None:
    path = cache_path(real_cache_dir)
    modified = path.stat().st_mtime_ns
    assert ensure_fashion_mnist(real_cache_dir, []) == path
    assert path.stat().st_mtime_ns == modified
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert sorted(p.name for p in real_cache_dir.iterdir()) == [CACHE_NAME]  # no temporary left


@needs_debian_files
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda content: content[:-1], r"has 54950567 bytes, expected 54950568"),
        (lambda content: content[:-1] + bytes([content[-1] ^ 1]), r"corrupt or was modified"),
    ],
    ids=["truncated", "flipped-byte"],
)
def test_a_damaged_cache_is_refused_and_rebuilt(
    real_cache_dir: Path, tmp_path: Path, damage: Callable[[bytes], bytes], message: str
) -> None:
    cache_path(tmp_path).write_bytes(damage(cache_path(real_cache_dir).read_bytes()))
    with pytest.raises(FashionMnistError, match=message):
        load_fashion_mnist(tmp_path)
    ensure_fashion_mnist(tmp_path, [DEFAULT_SOURCE_DIR])
    assert load_fashion_mnist(tmp_path).test.inputs.shape == (10_000, 1, 28, 28)
