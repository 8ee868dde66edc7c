"""MNIST for the playground: set-up fetches and converts it once, the rest loads the cache."""

from app.data.locate import MnistNotFoundError, find_mnist_dir, setup_mnist_dir
from app.data.mnist import (
    Mnist,
    MnistDataError,
    Split,
    cache_path,
    ensure_mnist,
    load_mnist,
    mean_std,
)

__all__ = [
    "Mnist",
    "MnistDataError",
    "MnistNotFoundError",
    "Split",
    "cache_path",
    "ensure_mnist",
    "find_mnist_dir",
    "load_mnist",
    "mean_std",
    "setup_mnist_dir",
]
