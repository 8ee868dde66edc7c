"""A converted dataset cache whose exact bytes are pinned: size and sha256 checked on every load.

MNIST and Fashion-MNIST are converted once into a safetensors file of uint8 splits
(`{split}.images`, `{split}.labels`); the same conversion always gives the same bytes, so a
cache that differs in any byte is truncated, corrupt or not ours.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import safetensors
import safetensors.numpy
import safetensors.torch
import torch

CACHE_FILE_MODE = 0o644  # tempfile creates 0o600


@dataclass(frozen=True)
class PinnedCache:
    """One cache file's expected bytes, and how to say it is wrong."""

    title: str  # "MNIST cache", for messages
    size: int
    sha256: str
    format: str  # the safetensors metadata that names the layout
    error: type[Exception]  # what every problem raises
    hint: str  # what to do about it, e.g. "run the set-up: …"

    def write(self, path: Path, arrays: Mapping[str, npt.NDArray[np.uint8]]) -> None:
        """Save the converted splits to `path` atomically, if they give exactly the pinned
        bytes (else the conversion code or its inputs changed: `error`)."""
        cache_bytes = safetensors.numpy.save(dict(arrays), metadata={"format": self.format})
        actual = hashlib.sha256(cache_bytes).hexdigest()
        if actual != self.sha256:
            raise self.error(
                f"converting gave a {self.title} with sha256 {actual}, expected {self.sha256}; "
                "the conversion code or its inputs changed"
            )
        write_atomically(path, cache_bytes)

    def verify(self, path: Path, cache_bytes: bytes) -> None:
        """Raise `error` unless `cache_bytes` are exactly the expected cache."""
        fix = f"delete it and {self.hint}"
        if len(cache_bytes) != self.size:
            raise self.error(
                f"{self.title} {path} has {len(cache_bytes)} bytes, expected {self.size} "
                f"(truncated or not ours); {fix}"
            )
        actual = hashlib.sha256(cache_bytes).hexdigest()
        if actual != self.sha256:
            raise self.error(
                f"{self.title} {path} is corrupt or was modified (sha256 {actual}, "
                f"expected {self.sha256}); {fix}"
            )

    def is_valid(self, path: Path) -> bool:
        """Whether `path` holds exactly the expected cache."""
        try:
            self.verify(path, path.read_bytes())
        except (self.error, OSError):
            return False
        return True

    def parse(self, path: Path, cache_bytes: bytes) -> dict[str, torch.Tensor]:
        """The verified cache's tensors."""
        self.verify(path, cache_bytes)
        try:
            return safetensors.torch.load(cache_bytes)
        except safetensors.SafetensorError as error:
            raise self.error(f"cannot parse {self.title} {path}: {error}") from error

    def split(
        self, tensors: dict[str, torch.Tensor], name: str, size: int, image_shape: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(uint8 images (size, *image_shape), int64 labels (size,)) of one split, checked."""
        images = tensors.get(f"{name}.images")
        labels = tensors.get(f"{name}.labels")
        if (
            images is None
            or labels is None
            or images.dtype != torch.uint8
            or labels.dtype != torch.uint8
            or tuple(images.shape) != (size, *image_shape)
            or tuple(labels.shape) != (size,)
        ):
            raise self.error(f"{self.title} has no valid {name!r} split; {self.hint}")
        return images, labels.to(torch.int64)


def write_atomically(path: Path, content: bytes) -> None:
    """Write `content` to `path` through a temporary file and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    ) as temporary:
        temporary_path = Path(temporary.name)
        try:
            temporary.write(content)
            temporary.flush()
            os.fsync(temporary.fileno())
            os.fchmod(temporary.fileno(), CACHE_FILE_MODE)
        except BaseException:
            temporary.close()
            temporary_path.unlink(missing_ok=True)
            raise
    try:
        os.replace(temporary_path, path)
    except BaseException:
        temporary_path.unlink(missing_ok=True)
        raise
