"""Fixtures shared by the whole test suite."""

from pathlib import Path

import pytest

from app.data import ensure_mnist
from app.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_data_dir() -> Path:
    """The data directory (from Settings) holding the verified MNIST cache that set-up made."""
    data_dir = Settings().data_dir
    if not data_dir.is_absolute():
        data_dir = REPO_ROOT / data_dir
    ensure_mnist(data_dir)  # only checks the hash: set-up has already fetched and converted
    return data_dir
