"""MNIST for the playground: set-up fetches and converts it once, the rest loads the cache."""

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
    "Split",
    "cache_path",
    "ensure_mnist",
    "load_mnist",
    "mean_std",
]
