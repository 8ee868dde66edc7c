"""Where the MNIST cache is: wherever set-up prepared it, whatever the data directory.

Looked for, in order: NNP_MNIST_DIR (if set), the data directory, the checkout's `data/` (where
set-up writes it) and the per-user cache (`$XDG_CACHE_HOME/nn-playground`, else
`~/.cache/nn-playground`). The first directory whose cache file has the right size wins;
`load_mnist` checks its hash when it loads it.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.data.mnist import CACHE_NAME, CACHE_SIZE, MnistDataError, cache_path

CHECKOUT_DATA_DIR = Path(__file__).resolve().parents[2] / "data"
PREPARE_HINT = "prepare it with `make run` or `.venv/bin/python -m app.data.fetch`"


class MnistNotFoundError(MnistDataError):
    """No directory of the lookup holds the MNIST cache."""


def user_cache_dir(cache_home: Path | None = None) -> Path:
    """This user's cache directory for the playground: under `cache_home` (XDG_CACHE_HOME,
    read by Settings) if it is absolute, else under ~/.cache."""
    base = cache_home if cache_home is not None and cache_home.is_absolute() else None
    return (base or Path.home() / ".cache") / "nn-playground"


def mnist_search_dirs(
    mnist_dir: Path | None, data_dir: Path, cache_home: Path | None = None
) -> list[Path]:
    """The directories MNIST is looked for in, in order, absolute and without repeats."""
    candidates = [mnist_dir, data_dir, CHECKOUT_DATA_DIR, user_cache_dir(cache_home)]
    found: list[Path] = []
    for directory in candidates:
        if directory is not None and (absolute := Path(os.path.abspath(directory))) not in found:
            found.append(absolute)
    return found


def holds_mnist(directory: Path) -> bool:
    """Whether `directory` has a cache file of the right size (cheap: no hash)."""
    try:
        return cache_path(directory).stat().st_size == CACHE_SIZE
    except OSError:
        return False


def find_mnist_dir(mnist_dir: Path | None, data_dir: Path, cache_home: Path | None = None) -> Path:
    """The first directory of the lookup that holds the MNIST cache; raise MnistNotFoundError."""
    searched = mnist_search_dirs(mnist_dir, data_dir, cache_home)
    for directory in searched:
        if holds_mnist(directory):
            return directory
    raise MnistNotFoundError(
        f"MNIST not found: no {CACHE_NAME} in {', '.join(map(str, searched))}; {PREPARE_HINT}"
    )


def setup_mnist_dir(mnist_dir: Path | None) -> Path:
    """Where set-up puts MNIST: NNP_MNIST_DIR if set, else the checkout's `data/`.

    Not the data directory: set-up fills one well-known cache that every data directory finds.
    """
    return mnist_dir if mnist_dir is not None else CHECKOUT_DATA_DIR
