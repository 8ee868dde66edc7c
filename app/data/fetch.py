"""Set-up step: `python -m app.data.fetch [--data-dir DIR]` makes sure the MNIST cache exists,
and Fashion-MNIST's next to it when Debian's `dataset-fashion-mnist` (or NNP_FASHION_MNIST_DIR)
provides its files."""

import argparse
import sys
from pathlib import Path

from app.data.fashion import (
    FashionMnistError,
    FashionMnistMissingError,
    ensure_fashion_mnist,
    source_dirs,
)
from app.data.locate import setup_mnist_dir
from app.data.mnist import MnistDataError, ensure_mnist
from app.settings import Settings


def main(argv: list[str] | None = None) -> int:
    """Fetch and convert MNIST (and Fashion-MNIST if its files exist) if needed; print one line
    for MNIST on stdout, one for Fashion-MNIST on stderr; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m app.data.fetch", description="Download and convert MNIST if needed."
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="default: NNP_MNIST_DIR, else the checkout's data/, where every data directory "
        "finds it",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    data_dir: Path = args.data_dir or setup_mnist_dir(settings.mnist_dir)
    try:
        path = ensure_mnist(data_dir)
    except MnistDataError as error:
        print(f"MNIST set-up failed: {error}", file=sys.stderr)
        return 1
    print(f"MNIST ready: {path}")
    return _prepare_fashion_mnist(data_dir, settings.fashion_mnist_dir)


def _prepare_fashion_mnist(data_dir: Path, source: Path | None) -> int:
    """Convert Fashion-MNIST into `data_dir` if needed; skip it, without failing, if absent."""
    try:
        path = ensure_fashion_mnist(data_dir, source_dirs(source))
    except FashionMnistMissingError as error:
        print(f"Fashion-MNIST skipped: {error}", file=sys.stderr)
        return 0
    except FashionMnistError as error:
        print(f"Fashion-MNIST set-up failed: {error}", file=sys.stderr)
        return 1
    print(f"Fashion-MNIST ready: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
