"""Set-up step: `python -m app.data.fetch [--data-dir DIR]` makes sure the MNIST cache exists."""

import argparse
import sys
from pathlib import Path

from app.data.locate import setup_mnist_dir
from app.data.mnist import MnistDataError, ensure_mnist
from app.settings import Settings


def main(argv: list[str] | None = None) -> int:
    """Fetch and convert MNIST if needed; print one line; return the exit status."""
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
    data_dir: Path = args.data_dir or setup_mnist_dir(Settings().mnist_dir)
    try:
        path = ensure_mnist(data_dir)
    except MnistDataError as error:
        print(f"MNIST set-up failed: {error}", file=sys.stderr)
        return 1
    print(f"MNIST ready: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
