"""Turn a drawing of any size into a 28×28 digit prepared the way MNIST's digits were.

MNIST's digits have white ink (1) on black (0), the ink's bounding box scaled to fit 20×20 with
its aspect ratio kept, and the centre of mass at pixel (14, 14) of the 28×28 field (measured on
the 10000 test digits: mean (13.99, 14.01), every one within half a pixel, so an integer shift).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

from app.imaging.errors import ImageError

MNIST_SIDE = 28
DIGIT_BOX = 20
MNIST_CENTRE = 14.0
NOISE_LEVEL = 0.1  # ink fainter than this, once the background is removed, is noise
RESAMPLING = Image.Resampling.LANCZOS

FloatImage = npt.NDArray[np.float32]
Pixel = TypeVar("Pixel", np.float32, np.uint8)


@dataclass(frozen=True)
class Placement:
    """Where the preparation put a drawing: the ink's box in the drawing became a box of the
    28×28 digit. Boxes are (top, left, height, width) in each one's own pixels."""

    size: tuple[int, int]  # the drawing's (H, W)
    source: tuple[int, int, int, int]  # the ink's box in the drawing
    digit: tuple[int, int, int, int]  # where it lies in the 28×28 digit

    def to_dict(self) -> dict[str, list[int]]:
        """{"size", "source", "digit"} as lists."""
        return {"size": [*self.size], "source": [*self.source], "digit": [*self.digit]}


def prepare_digit(gray: npt.NDArray[np.generic]) -> FloatImage:
    """Any-size grayscale (H, W) in 0..1, either polarity → float32 (28, 28), white ink on black.

    A blank image (nothing above the noise level) gives all zeros rather than an error.
    """
    return place_digit(gray)[0]


def place_digit(gray: npt.NDArray[np.generic]) -> tuple[FloatImage, Placement | None]:
    """`prepare_digit`, and where the drawing's ink went (None for a blank image)."""
    ink = _ink(_validated(gray))  # (H, W), 0 background .. 1 full ink
    return _placed(ink > 0, lambda box: ink[box])


def place_levels(levels: npt.NDArray[np.uint8]) -> tuple[FloatImage, Placement | None]:
    """`place_digit(levels / 255)`, the same digit bit for bit, in about half the time.

    The ink is a function of the grey level alone (once the border's background is known), so
    it is worked out for the 256 levels instead of for every pixel, and only the ink's box is
    turned into floats. A live drawing (a 280×280 canvas, a frame per animation frame) spends
    most of its preparation there.
    """
    if levels.dtype != np.uint8 or levels.ndim != 2 or levels.size == 0:
        raise ImageError(f"grey levels must be a non-empty 2-D uint8 array; got {levels.dtype}")
    border = _border(levels).astype(np.float32) / np.float32(255)
    inverted, background = _background(border)
    every_level = np.arange(256, dtype=np.float32) / np.float32(255)  # (256,)
    ink_of_level = _raw_ink(every_level, inverted, background)
    # The raw ink rises with the level (falls, inverted): the brightest ink is at an end.
    peak = ink_of_level[int(levels.min()) if inverted else int(levels.max())]
    ink_of_level = _scaled_ink(ink_of_level, float(peak), background)  # (256,)
    inked_levels = np.flatnonzero(ink_of_level > 0)  # for the same reason, a run of levels
    if inked_levels.size == 0:
        return np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32), None
    inked = levels <= inked_levels[-1] if inverted else levels >= inked_levels[0]  # (H, W)
    return _placed(inked, lambda box: ink_of_level[levels[box]])


def _placed(
    inked: npt.NDArray[np.bool_], ink_in: Callable[[tuple[slice, slice]], FloatImage]
) -> tuple[FloatImage, Placement | None]:
    """The 28×28 digit from where there is ink (H, W) and the ink of a box of the drawing."""
    inked_rows = np.flatnonzero(inked.any(axis=1))
    if inked_rows.size == 0:
        return np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32), None
    inked_columns = np.flatnonzero(inked.any(axis=0))
    top, left = int(inked_rows[0]), int(inked_columns[0])
    crop = ink_in((slice(top, inked_rows[-1] + 1), slice(left, inked_columns[-1] + 1)))  # (h, w)
    patch = _fit_box(crop)  # (h', w')
    at_top, at_left = _centred_at(patch)
    digit = np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)
    digit[at_top : at_top + patch.shape[0], at_left : at_left + patch.shape[1]] = patch
    placed = Placement(
        (inked.shape[0], inked.shape[1]), (top, left, *crop.shape), (at_top, at_left, *patch.shape)
    )
    return digit, placed


def prepare_input(
    image: npt.NDArray[np.generic], mean: float, std: float, *, prepare: bool = True
) -> torch.Tensor:
    """A model's input (1, 1, 28, 28) normalised with `mean` and `std`.

    With `prepare` (the default) the image goes through `prepare_digit` first; without it the
    image must already be a 28×28 MNIST-style digit in 0..1.
    """
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise ValueError(f"mean and std must be finite with std > 0; got {mean}, {std}")
    if prepare:
        digit = prepare_digit(image)
    else:
        digit = _validated(image)
        if digit.shape != (MNIST_SIDE, MNIST_SIDE):
            raise ImageError(f"pixels are {_shape(digit)}; expected 28×28")
    normalised = (digit - np.float32(mean)) / np.float32(std)  # (28, 28)
    return torch.from_numpy(normalised.astype(np.float32)).reshape(1, 1, MNIST_SIDE, MNIST_SIDE)


def _validated(gray: object) -> FloatImage:
    """The image as float32 (H, W), or ImageError if it is not a finite 2-D array in 0..1."""
    if not isinstance(gray, np.ndarray):
        raise ImageError(f"image must be a numpy array, not {type(gray).__name__}")
    if gray.ndim != 2 or gray.size == 0:
        raise ImageError(f"image must be a non-empty 2-D (H, W) array; got shape {gray.shape}")
    if gray.dtype.kind not in "biuf":
        raise ImageError(f"image must hold real numbers; got dtype {gray.dtype}")
    if gray.dtype.kind == "f" and not np.isfinite(gray).all():
        raise ImageError("image contains NaN or infinite values")
    low, high = float(gray.min()), float(gray.max())
    if low < 0.0 or high > 1.0:
        raise ImageError(f"image values must be in 0..1; got {low:g}..{high:g}")
    return gray.astype(np.float32, copy=False)  # safe: every value is in 0..1


def _ink(image: FloatImage) -> FloatImage:
    """White-on-black ink (H, W) in 0..1: background removed, faint noise zeroed, peak 1."""
    inverted, background = _background(_border(image))
    ink = _raw_ink(image, inverted, background)  # (H, W)
    return _scaled_ink(ink, float(ink.max()), background)


def _border(image: npt.NDArray[Pixel]) -> npt.NDArray[Pixel]:
    """The outermost pixels (2H + 2W)."""
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


def _background(border: FloatImage) -> tuple[bool, float]:
    """(inverted, background level) from the border's median. The ink is the minority, so a
    light background means dark ink: the image is to be inverted, and so is the background."""
    background = float(np.median(border))
    if background > 0.5:
        return True, 1.0 - background
    return False, background


def _raw_ink(image: FloatImage, inverted: bool, background: float) -> FloatImage:
    """Above the background, white on black: max(image − background, 0), inverted first."""
    if inverted:
        image = 1.0 - image
    ink: FloatImage = np.maximum(image - background, np.float32(0.0))
    return ink


def _scaled_ink(ink: FloatImage, peak: float, background: float) -> FloatImage:
    """`ink` (changed in place) with faint noise zeroed and `peak` scaled to 1; all zeros when
    nothing rises above the noise level."""
    floor = NOISE_LEVEL * (1.0 - background)
    if peak <= floor:
        return np.zeros(ink.shape, dtype=np.float32)
    ink[ink < floor] = 0.0
    ink /= np.float32(peak)
    return ink


def _fit_box(crop: FloatImage) -> FloatImage:
    """Resize (h, w) so its longer side is 20, keeping the aspect ratio → (h', w') in 0..1."""
    height, width = crop.shape
    scale = DIGIT_BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # Pillow: (w, h)
    if size == (width, height):
        return crop
    resized = Image.fromarray(crop).resize(size, RESAMPLING)  # mode "F": no 8-bit rounding
    patch: FloatImage = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)  # (h', w')
    return patch


def _centred_at(patch: FloatImage) -> tuple[int, int]:
    """(top, left) that put (h, w) ≤ 20×20's centre of mass at (14, 14) of 28×28, inside."""
    height, width = patch.shape
    mass = float(patch.sum())
    if mass > 0:
        centre_row = float(patch.sum(axis=1) @ np.arange(height)) / mass
        centre_column = float(patch.sum(axis=0) @ np.arange(width)) / mass
    else:
        centre_row, centre_column = (height - 1) / 2, (width - 1) / 2
    top = min(max(math.floor(MNIST_CENTRE - centre_row + 0.5), 0), MNIST_SIDE - height)
    left = min(max(math.floor(MNIST_CENTRE - centre_column + 0.5), 0), MNIST_SIDE - width)
    return top, left


def _shape(array: npt.NDArray[np.generic]) -> str:
    """A shape as '28×27'."""
    return "×".join(str(side) for side in array.shape)
