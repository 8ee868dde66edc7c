"""The drawing fast path: 8-bit grey levels (decode_levels, place_levels) give exactly the digit
and placement of the float path (decode_data_url, place_digit)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from app.data import load_mnist
from app.imaging import ImageError, decode_data_url
from app.imaging.decode import decode_levels
from app.imaging.digit import place_digit, place_levels


def _url(image: Image.Image, image_format: str = "PNG") -> str:
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f"data:image/{image_format.lower()};base64,{encoded}"


def _float_path(levels: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], object]:
    return place_digit(levels.astype(np.float32) / np.float32(255))


def _same(levels: npt.NDArray[np.uint8]) -> None:
    digit, placement = place_levels(levels)
    expected_digit, expected_placement = _float_path(levels)
    assert placement == expected_placement
    assert digit.dtype == np.float32
    assert digit.tobytes() == expected_digit.tobytes()  # bit for bit


def _drawings(rng: np.random.Generator) -> list[npt.NDArray[np.uint8]]:
    """Pictures of every kind the preparation branches on."""
    pictures = []
    for index in range(400):
        height, width = (int(side) for side in rng.integers(1, 70, 2))
        kind = index % 6
        if kind == 0:  # noise everywhere
            levels = rng.integers(0, 256, (height, width))
        elif kind == 1:  # one pixel on a flat background
            levels = np.full((height, width), rng.integers(0, 256))
            levels[rng.integers(0, height), rng.integers(0, width)] = rng.integers(0, 256)
        elif kind == 2:  # dark strokes on white paper (inverted)
            strokes = rng.random((height, width)) < 0.15
            levels = 255 - strokes * rng.integers(0, 256, (height, width))
        elif kind == 3:  # faint marks only: below the noise level, or just above it
            levels = (rng.random((height, width)) < 0.2) * rng.integers(0, 40, (height, width))
        elif kind == 4:  # blank, black or white
            levels = np.full((height, width), 255 * int(rng.integers(0, 2)))
        else:  # grey paper near the inversion threshold
            levels = np.full((height, width), int(rng.integers(120, 136)))
            levels[: height // 2, : width // 3] = rng.integers(0, 256)
        pictures.append(levels.astype(np.uint8))
    return pictures


def test_levels_give_the_float_paths_digit_bit_for_bit() -> None:
    for levels in _drawings(np.random.default_rng(7)):
        _same(levels)


def test_real_digits_drawn_large_both_ways_prepare_identically(mnist_data_dir: Path) -> None:
    digits = load_mnist(mnist_data_dir).test.images[:60].numpy()  # (60, 28, 28) uint8
    for index, digit in enumerate(digits):
        drawn = Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR)
        if index % 2:  # dark ink on light paper, as most canvases are
            drawn = Image.fromarray(255 - np.asarray(drawn))
        url = _url(drawn)
        levels = decode_levels(url)
        assert levels.dtype == np.uint8
        assert levels.shape == (280, 280)
        digit_a, placed_a = place_levels(levels)
        digit_b, placed_b = place_digit(decode_data_url(url))
        assert placed_a == placed_b
        assert digit_a.tobytes() == digit_b.tobytes()


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P"])
def test_decoded_levels_are_the_decoded_floats_in_eight_bits(mode: str) -> None:
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (40, 32, 4)).astype(np.uint8)
    image = Image.fromarray(rgba, "RGBA").convert(mode)
    url = _url(image)
    levels = decode_levels(url)
    assert levels.dtype == np.uint8
    assert np.array_equal(levels.astype(np.float32) / np.float32(255), decode_data_url(url))


def test_sixteen_bit_images_are_rounded_to_eight() -> None:
    wide = np.random.default_rng(4).integers(0, 65536, (40, 32)).astype(np.uint16)
    url = _url(Image.fromarray(wide))
    levels = decode_levels(url)
    assert levels.dtype == np.uint8
    assert np.abs(levels / 255.0 - decode_data_url(url)).max() <= 0.5 / 255 + 1e-6


def test_levels_keep_the_decoders_checks() -> None:
    with pytest.raises(ImageError, match="data URL"):
        decode_levels("not a data url")
    with pytest.raises(ImageError, match="the least is"):
        decode_levels(_url(Image.new("L", (4, 4))))
    with pytest.raises(ImageError, match="uint8"):
        place_levels(np.zeros((28, 28), dtype=np.float32))
