"""Fixtures shared by the whole test suite."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from app.data import Mnist, ensure_mnist, load_mnist
from app.data.dataset import Dataset
from app.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]

# Servers made by tests (in this process and the ones they start) do not train a starter run
# unless a test asks for one: it would compete with what the test trains.
os.environ.setdefault("NNP_STARTER_RUN", "false")
os.environ.setdefault("NNP_WARM_TRAINING_PROCESS", "false")  # most tests never train


@pytest.fixture(scope="session")
def mnist_data_dir() -> Path:
    """The data directory (from Settings) holding the verified MNIST cache that set-up made."""
    data_dir = Settings().data_dir
    if not data_dir.is_absolute():
        data_dir = REPO_ROOT / data_dir
    ensure_mnist(data_dir)  # only checks the hash: set-up has already fetched and converted
    return data_dir


@pytest.fixture(scope="session")
def mnist(mnist_data_dir: Path) -> Mnist:
    """MNIST loaded once for the whole session (training tests share it, read-only)."""
    return load_mnist(mnist_data_dir)


@pytest.fixture(scope="module")
def digits(mnist: Mnist) -> Dataset:
    """MNIST as a training dataset, once per test module."""
    return mnist.to_dataset()


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One PyTorch thread, as runs train (two threads collapse when the CPUs are busy)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def app_data_dir(tmp_path: Path, mnist_data_dir: Path) -> Path:
    """A fresh data directory for one app, sharing the verified MNIST cache by a link."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "mnist.safetensors").symlink_to(mnist_data_dir / "mnist.safetensors")
    return data_dir
