"""A batch of images laid out in one PNG (a GAN's samples, for instance)."""

from __future__ import annotations

import io
import math

import numpy as np
import numpy.typing as npt
from PIL import Image

GAP = 2  # pixels of black between two images


def grid_png(images: npt.NDArray[np.float32], columns: int | None = None) -> bytes:
    """(N, C, H, W) in 0..1 with C 1 (grey) or 3 (RGB) → a PNG of the images in rows of
    `columns` (default: as square as can be), GAP pixels apart."""
    count, channels, height, width = images.shape
    if channels not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels, not {channels}")
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.zeros(
        (rows * (height + GAP) - GAP, columns * (width + GAP) - GAP, channels), np.uint8
    )
    pixels = (np.clip(images, 0.0, 1.0) * 255.0).round().astype(np.uint8)  # (N, C, H, W)
    for index in range(count):
        top = (index // columns) * (height + GAP)
        left = (index % columns) * (width + GAP)
        canvas[top : top + height, left : left + width] = pixels[index].transpose(1, 2, 0)
    picture = Image.fromarray(canvas[:, :, 0] if channels == 1 else canvas)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
