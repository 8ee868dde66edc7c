"""Tests of app.imaging: real MNIST digits survive decode + prepare; bad input fails cleanly.

The strongest check: a nearest-neighbour classifier (10000 MNIST training digits, no training
time) reads digits that were upscaled, moved, inverted or made transparent, then encoded as data
URLs, decoded and prepared, within 2 points of how well it reads the untouched originals.
"""

from __future__ import annotations

import base64
import io
import pickle
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import torch
from PIL import Image

from app.data import load_mnist, mean_std
from app.imaging import ImageError, decode_data_url, pixels_from_list, prepare_digit, prepare_input

Floats = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]
Classifier = Callable[[Floats], Labels]
Distortion = Callable[[Floats, np.random.Generator], str]

SAMPLE_SIZE = 300  # test digits pushed through every distortion
TRAIN_SIZE = 10_000  # training digits the nearest-neighbour classifier compares against
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------
# Real MNIST through decode + prepare


@pytest.fixture(scope="module")
def sample_digits(mnist_data_dir: Path) -> tuple[Floats, Labels, Classifier]:
    """The first test digits (N, 28, 28) in 0..1, their labels, and a 1-nearest-neighbour model."""
    mnist = load_mnist(mnist_data_dir)
    train = scaled(mnist.train.images[:TRAIN_SIZE].numpy()).reshape(TRAIN_SIZE, -1)  # (T, 784)
    train_labels: Labels = mnist.train.labels[:TRAIN_SIZE].numpy()
    train_norms = (train**2).sum(axis=1)  # (T,)

    def classify(digits: Floats) -> Labels:
        queries = digits.reshape(len(digits), -1)  # (N, 784)
        distances = train_norms[None, :] - 2 * queries @ train.T  # (N, T): |t|² - 2 q·t
        nearest: Labels = train_labels[distances.argmin(axis=1)]
        return nearest

    digits = scaled(mnist.test.images[:SAMPLE_SIZE].numpy())  # (N, 28, 28)
    return digits, mnist.test.labels[:SAMPLE_SIZE].numpy(), classify


def scaled(images: npt.NDArray[np.uint8]) -> Floats:
    """uint8 pixels as float32 in 0..1."""
    return images.astype(np.float32) / np.float32(255)


def to_image(digit: Floats) -> Image.Image:
    """A 0..1 array as an 8-bit grayscale Pillow image."""
    return Image.fromarray(np.round(digit * 255).astype(np.uint8))


def data_url(image: Image.Image, image_format: str = "PNG") -> str:
    """An image encoded as a data URL, the way a browser canvas sends it."""
    buffer = io.BytesIO()
    if image_format == "PNG":
        image.save(buffer, "PNG", compress_level=1)
    else:
        image.save(buffer, image_format, quality=80)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/{image_format.lower()};base64,{encoded}"


def upscaled(digit: Floats, resample: Image.Resampling, side: int = 280) -> Image.Image:
    """The digit scaled up to side×side, as a canvas would hold it."""
    return to_image(digit).resize((side, side), resample)


def nearest_280(digit: Floats, rng: np.random.Generator) -> str:
    """Blocky 10× upscale, like drawing on a coarse grid."""
    return data_url(upscaled(digit, Image.Resampling.NEAREST))


def bilinear_280(digit: Floats, rng: np.random.Generator) -> str:
    """Smooth 10× upscale, like an anti-aliased canvas."""
    return data_url(upscaled(digit, Image.Resampling.BILINEAR))


def moved_in_larger_canvas(digit: Floats, rng: np.random.Generator) -> str:
    """Scaled to 100..300 px and put anywhere in a 400×360 canvas."""
    side = int(rng.integers(100, 300))
    canvas = Image.new("L", (400, 360))
    left, top = int(rng.integers(0, 400 - side)), int(rng.integers(0, 360 - side))
    canvas.paste(upscaled(digit, Image.Resampling.BILINEAR, side), (left, top))
    return data_url(canvas)


def inverted_dark_on_light(digit: Floats, rng: np.random.Generator) -> str:
    """Black ink on white paper."""
    return data_url(upscaled(1 - digit, Image.Resampling.BILINEAR))


def transparent_rgba(digit: Floats, rng: np.random.Generator) -> str:
    """Dark blue ink whose coverage is in the alpha channel, on a fully transparent canvas."""
    alpha = upscaled(digit, Image.Resampling.BILINEAR)
    canvas = Image.new("RGBA", alpha.size, (20, 20, 90, 0))
    canvas.putalpha(alpha)
    return data_url(canvas)


def jpeg_dark_on_light(digit: Floats, rng: np.random.Generator) -> str:
    """JPEG's ringing adds faint noise around the strokes."""
    return data_url(upscaled(1 - digit, Image.Resampling.BILINEAR), "JPEG")


DISTORTIONS: list[Distortion] = [
    nearest_280,
    bilinear_280,
    moved_in_larger_canvas,
    inverted_dark_on_light,
    transparent_rgba,
    jpeg_dark_on_light,
]


def centre_of_mass(digit: Floats) -> tuple[float, float]:
    """(row, column) centre of mass of a (28, 28) digit."""
    indices = np.arange(digit.shape[0])
    mass = float(digit.sum())
    return float(digit.sum(axis=1) @ indices) / mass, float(digit.sum(axis=0) @ indices) / mass


@pytest.mark.parametrize("distort", DISTORTIONS, ids=lambda distort: distort.__name__)
def test_distorted_digits_are_read_as_well_as_the_originals(
    sample_digits: tuple[Floats, Labels, Classifier], distort: Distortion
) -> None:
    digits, labels, classify = sample_digits
    rng = np.random.default_rng(0)
    prepared = np.stack([prepare_digit(decode_data_url(distort(d, rng))) for d in digits])

    original_accuracy = float((classify(digits) == labels).mean())
    prepared_accuracy = float((classify(prepared) == labels).mean())
    mean_abs_error = float(np.abs(prepared - digits).mean())
    centred = np.mean(
        [max(abs(c - 14.0) for c in centre_of_mass(digit)) <= 1.0 for digit in prepared]
    )
    summary = (
        f"accuracy {prepared_accuracy:.3f} vs {original_accuracy:.3f} on the originals, "
        f"mean abs error {mean_abs_error:.4f}, centred within 1 px {centred:.3f}"
    )
    assert original_accuracy > 0.88, summary
    assert prepared_accuracy >= original_accuracy - 0.02, summary
    assert mean_abs_error < 0.04, summary
    assert centred >= 0.99, summary
    assert prepared.dtype == np.float32
    assert prepared.min() >= 0.0
    assert prepared.max() <= 1.0


def test_without_preparation_a_moved_digit_is_misread(
    sample_digits: tuple[Floats, Labels, Classifier],
) -> None:
    # The control for the test above: squeezing the whole canvas to 28×28 fails badly.
    digits, labels, classify = sample_digits
    rng = np.random.default_rng(0)
    squeezed = np.stack(
        [
            np.asarray(
                Image.fromarray(decode_data_url(moved_in_larger_canvas(digit, rng))).resize(
                    (28, 28), Image.Resampling.BOX
                ),
                dtype=np.float32,
            )
            for digit in digits[:100]
        ]
    )
    assert float((classify(squeezed) == labels[:100]).mean()) < 0.5


def test_mnist_digits_come_through_almost_unchanged(
    sample_digits: tuple[Floats, Labels, Classifier],
) -> None:
    digits, _, _ = sample_digits
    prepared = np.stack([prepare_digit(digit) for digit in digits])
    worst_pixel = np.abs(prepared - digits).reshape(len(digits), -1).max(axis=1)
    # Faint pixels under the noise level (0.1) are dropped; a few move by one pixel because
    # their centre of mass sits right on a half pixel.
    assert float(np.mean(worst_pixel <= 0.1)) >= 0.97
    assert float(np.abs(prepared - digits).mean()) < 0.003


def test_prepare_digit_is_fast_enough_for_live_drawing(
    sample_digits: tuple[Floats, Labels, Classifier],
) -> None:
    gray = decode_data_url(inverted_dark_on_light(sample_digits[0][0], np.random.default_rng()))
    assert gray.shape == (280, 280)
    durations = []
    for _ in range(30):
        start = time.perf_counter()
        prepare_digit(gray)
        durations.append(time.perf_counter() - start)
    assert float(np.median(durations)) < 0.02  # typically ~0.5 ms; the live path needs < 33 ms


# ---------------------------------------------------------------------------------------------
# decode_data_url: image modes and formats


def ink_mask() -> npt.NDArray[np.bool_]:
    """A 40×32 scene: a thick bar of ink in the middle."""
    mask = np.zeros((40, 32), dtype=bool)
    mask[8:32, 12:20] = True
    return mask


def scene(image_mode: str) -> Image.Image:
    """The ink mask as dark ink on a light (or transparent) background in one Pillow mode."""
    mask = ink_mask()
    light = np.where(mask, 0, 255).astype(np.uint8)
    if image_mode == "I;16":
        return Image.fromarray(np.where(mask, 0, 65535).astype(np.uint16))
    if image_mode in ("L", "1", "RGB", "CMYK"):
        return Image.fromarray(light).convert(image_mode)
    if image_mode == "RGBA":
        rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
        rgba[..., 3] = np.where(mask, 255, 0)
        return Image.fromarray(rgba)
    if image_mode == "LA":
        return Image.merge("LA", [Image.new("L", (32, 40), 0), Image.fromarray(~light)])
    assert image_mode == "P"
    indexed = Image.new("P", (32, 40), 0)  # saved with index 0 (background) transparent
    indexed.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    indexed.paste(1, (12, 8, 20, 32))
    return indexed


@pytest.mark.parametrize(
    ("image_mode", "image_format"),
    [
        ("L", "PNG"),
        ("1", "PNG"),
        ("I;16", "PNG"),
        ("RGB", "PNG"),
        ("RGBA", "PNG"),
        ("LA", "PNG"),
        ("P", "PNG"),
        ("L", "JPEG"),
        ("RGB", "JPEG"),
        ("CMYK", "JPEG"),
    ],
)
def test_every_common_mode_decodes_to_dark_ink_on_white(image_mode: str, image_format: str) -> None:
    image = scene(image_mode)
    buffer = io.BytesIO()
    save_options = {"transparency": 0} if image_mode == "P" else {}
    image.save(buffer, image_format, **save_options)
    assert Image.open(io.BytesIO(buffer.getvalue())).mode == image_mode  # no silent conversion
    url = (
        f"data:image/{image_format.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()
    )

    gray = decode_data_url(url)

    assert gray.dtype == np.float32
    assert gray.shape == (40, 32)
    tolerance = 0.1 if image_format == "JPEG" else 0.01
    np.testing.assert_allclose(gray, np.where(ink_mask(), 0.0, 1.0), atol=tolerance)
    digit = prepare_digit(gray)
    assert digit.max() == pytest.approx(1.0)
    assert max(abs(c - 14.0) for c in centre_of_mass(digit)) <= 1.0


@pytest.mark.parametrize(("stroke", "background"), [((255, 255, 255), 0.0), ((0, 0, 0), 1.0)])
def test_light_or_dark_strokes_on_a_transparent_canvas_both_read_as_ink(
    stroke: tuple[int, int, int], background: float
) -> None:
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)  # fully transparent (black, alpha 0)
    rgba[10:30, 18:22] = (*stroke, 255)
    gray = decode_data_url(data_url(Image.fromarray(rgba)))
    assert gray[0, 0] == background  # light strokes are flattened onto black, dark onto white
    assert gray[20, 20] == 1.0 - background
    digit = prepare_digit(gray)
    assert digit.max() == 1.0
    assert centre_of_mass(digit) == pytest.approx((14.0, 14.0), abs=0.51)


def test_a_fully_transparent_canvas_is_blank() -> None:
    gray = decode_data_url(data_url(Image.new("RGBA", (64, 64), (0, 0, 0, 0))))
    assert np.all(gray == 1.0)
    assert not prepare_digit(gray).any()


def test_media_type_and_scheme_are_case_insensitive() -> None:
    url = data_url(Image.new("L", (16, 16), 255))
    gray = decode_data_url("DATA:Image/PNG;Base64," + url.partition(",")[2])
    assert gray.shape == (16, 16)


# ---------------------------------------------------------------------------------------------
# decode_data_url: hostile input, each a clear ImageError


def png_chunk(kind: bytes, content: bytes) -> bytes:
    """One PNG chunk with a correct CRC."""
    checksum = zlib.crc32(kind + content)
    return struct.pack(">I", len(content)) + kind + content + struct.pack(">I", checksum)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height 8-bit gray pixels (the data is far too short)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + png_chunk(b"IEND", b"")
    )


def png_url(png: bytes) -> str:
    """PNG bytes as a data URL."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


def small_png(side: int = 32) -> bytes:
    """A side×side PNG of noise (so it does not compress to almost nothing)."""
    buffer = io.BytesIO()
    to_image(np.random.default_rng(side).random((side, side), dtype=np.float32)).save(buffer, "PNG")
    return buffer.getvalue()


def with_byte_flipped(data: bytes, position: int) -> bytes:
    """The bytes with every bit of one byte inverted."""
    return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]


def small_jpeg() -> bytes:
    """A valid 32×32 white JPEG."""
    buffer = io.BytesIO()
    Image.new("L", (32, 32), 255).save(buffer, "JPEG")
    return buffer.getvalue()


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real small JPEG with its frame header (SOF0) patched to claim width×height."""
    jpeg = bytearray(small_jpeg())
    frame = jpeg.index(b"\xff\xc0")
    jpeg[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


def expect_image_error(
    data: object, *words: str, too_large: bool = False, **limits: int
) -> ImageError:
    """decode_data_url(data) raises ImageError whose message holds every word, nothing else."""
    with pytest.raises(ImageError) as caught:
        decode_data_url(data, **limits)  # type: ignore[arg-type]
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert caught.value.too_large is too_large, message
    return caught.value


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (None, ["string", "NoneType"]),
        (b"data:image/png;base64,", ["string", "bytes"]),
        (42, ["string", "int"]),
        ("hello", ["data URL", "'hello'"]),
        ("", ["data URL"]),
        ("https://example.com/digit.png", ["data URL"]),
        ("data:text/plain;base64,aGVsbG8=", ["'text/plain'", "image/png"]),
        ("data:image/svg+xml;base64,PHN2Zy8+", ["'image/svg+xml'"]),
        ("data:;base64,aGVsbG8=", ["(none)"]),
        ("data:image/png,%89PNG", ["base64"]),
        ("data:image/png;base64,", ["empty"]),
        ("data:image/png;base64,****", ["not valid base64"]),
        ("data:image/png;base64,iVBORw0KGgo", ["not valid base64"]),  # bad padding
        ("data:image/png;base64,iVBO Rw0K", ["not valid base64"]),
        ("data:image/png;base64,ü", ["not valid base64"]),
        ("data:image/png;base64," + base64.b64encode(b"GIF89a....").decode(), ["not a PNG"]),
        ("data:image/png;base64," + base64.b64encode(small_jpeg()).decode(), ["says PNG", "JPEG"]),
        ("data:image/png;base64," + base64.b64encode(PNG_SIGNATURE).decode(), ["PNG header"]),
        (png_url(small_png()[:40]), ["cannot read the PNG header"]),  # cut inside a chunk
        (png_url(small_png()[:50]), ["cannot decode the PNG", "truncated"]),  # cut in the pixels
        (png_url(with_byte_flipped(small_png(), 30)), ["PNG header"]),  # bad IHDR checksum
        ("data:image/jpeg;base64," + base64.b64encode(small_jpeg()[:200]).decode(), ["JPEG"]),
    ],
    ids=lambda value: repr(value)[:40] if not isinstance(value, list) else "",
)
def test_malformed_data_urls_raise_a_clear_image_error(data: object, words: list[str]) -> None:
    expect_image_error(data, *words)


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (100_000, 100_000),  # Pillow would refuse this as a decompression bomb
        (10_000, 10_000),  # Pillow would only warn (DecompressionBombWarning) and go on
        (5000, 20),
        (1025, 1024),
    ],
)
def test_a_header_claiming_a_huge_image_is_refused_before_decompressing(
    width: int, height: int
) -> None:
    expect_image_error(png_url(png_claiming(width, height)), f"{width}×{height}", too_large=True)
    if max(width, height) < 65536:  # JPEG sides are 16-bit
        jpeg = "data:image/jpeg;base64," + base64.b64encode(jpeg_claiming(width, height)).decode()
        expect_image_error(jpeg, f"{width}×{height}", too_large=True)


def test_a_real_5000_by_5000_png_is_too_large() -> None:
    buffer = io.BytesIO()
    Image.new("L", (5000, 5000), 255).save(buffer, "PNG", compress_level=1)
    assert len(buffer.getvalue()) < 2_000_000  # small file, huge image
    expect_image_error(png_url(buffer.getvalue()), "5000×5000", "1024×1024", too_large=True)


def test_a_header_of_the_largest_size_with_missing_data_fails_cleanly() -> None:
    expect_image_error(png_url(png_claiming(1024, 1024)), "cannot decode the PNG")


@pytest.mark.parametrize(("width", "height"), [(1, 1), (7, 100), (100, 7)])
def test_a_tiny_image_is_refused(width: int, height: int) -> None:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 0).save(buffer, "PNG")
    expect_image_error(png_url(buffer.getvalue()), f"{width}×{height}", "the least is 8×8")


def test_an_oversized_string_is_refused_before_base64_decoding() -> None:
    # '!' is not base64: had it been decoded first, the error would say so instead
    huge = "data:image/png;base64," + "!" * 3_000_000
    start = time.perf_counter()
    expect_image_error(huge, "3,000,022 characters", too_large=True)
    assert time.perf_counter() - start < 0.05


def test_the_byte_limit_is_checked_exactly_after_decoding() -> None:
    png = small_png(64)
    assert 4000 < len(png) < 6000
    expect_image_error(png_url(png), f"{len(png):,} bytes", too_large=True, max_bytes=len(png) - 1)
    assert decode_data_url(png_url(png), max_bytes=len(png)).shape == (64, 64)
    expect_image_error(png_url(png), "64×64", too_large=True, max_side=63)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_randomly_corrupted_images_decode_or_raise_image_error(image_format: str) -> None:
    image = to_image(np.random.default_rng(1).random((24, 24), dtype=np.float32))
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    original = buffer.getvalue()
    rng = np.random.default_rng(2)
    outcomes = {"decoded": 0, "refused": 0}
    for trial in range(300):
        corrupted = bytearray(original)
        if trial % 3 == 0:
            corrupted = corrupted[: int(rng.integers(len(PNG_SIGNATURE), len(original)))]
        else:
            for _ in range(int(rng.integers(1, 4))):
                position = int(rng.integers(3, len(corrupted)))
                corrupted[position] = int(rng.integers(0, 256))
        url = f"data:image/{image_format.lower()};base64," + base64.b64encode(corrupted).decode()
        try:
            gray = decode_data_url(url)
        except ImageError:
            outcomes["refused"] += 1
        else:
            outcomes["decoded"] += 1
            assert gray.dtype == np.float32
            assert 0.0 <= gray.min() <= gray.max() <= 1.0
    assert outcomes["refused"] > 50, outcomes


def test_image_error_keeps_too_large_when_pickled() -> None:
    error = ImageError("image is 5000×5000 pixels", too_large=True)
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ImageError)
    assert isinstance(copy, ValueError)
    assert copy.too_large is True
    assert str(copy) == str(error)


# ---------------------------------------------------------------------------------------------
# pixels_from_list


def test_a_28_by_28_grid_and_a_flat_list_of_784_are_accepted() -> None:
    grid = [[(row * 28 + column) / 783 for column in range(28)] for row in range(28)]
    from_grid = pixels_from_list(grid)
    from_flat = pixels_from_list([value for row in grid for value in row])
    assert from_grid.dtype == np.float32
    assert from_grid.shape == (28, 28)
    np.testing.assert_array_equal(from_grid, from_flat)
    assert from_grid[27, 27] == 1.0
    assert pixels_from_list([[0] * 28] * 28).sum() == 0  # integers are numbers too
    assert pixels_from_list(np.ones((28, 28))).sum() == 784


def grid_with(row: int, column: int, value: object) -> list[list[object]]:
    """A blank 28×28 grid with one cell replaced."""
    grid: list[list[object]] = [[0.0] * 28 for _ in range(28)]
    grid[row][column] = value
    return grid


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (grid_with(3, 5, float("nan")), ["pixels[3][5]", "nan", "finite"]),
        (grid_with(0, 0, float("inf")), ["pixels[0][0]", "inf"]),
        (grid_with(27, 27, float("-inf")), ["pixels[27][27]", "-inf"]),
        (grid_with(2, 1, -0.1), ["pixels[2][1]", "-0.1", "0..1"]),
        (grid_with(2, 1, 1.5), ["pixels[2][1]", "1.5", "0..1"]),
        (grid_with(2, 1, 255), ["pixels[2][1]", "255"]),
        (grid_with(2, 1, 10**400), ["pixels[2][1]", "0..1"]),
        (grid_with(4, 4, True), ["pixels[4][4]", "true"]),
        (grid_with(4, 4, np.True_), ["pixels[4][4]", "true"]),
        (grid_with(4, 4, "0.5"), ["pixels[4][4]", "string"]),
        (grid_with(4, 4, None), ["pixels[4][4]", "null"]),
        (grid_with(4, 4, [0.5]), ["pixels[4][4]", "list"]),
        (grid_with(4, 4, {"v": 1}), ["pixels[4][4]", "dict"]),
        (grid_with(4, 4, 1j), ["pixels[4][4]", "complex"]),
        ([[0.0] * 28] * 27, ["27 entries", "28 rows of 28", "784"]),
        ([[0.0] * 28] * 29, ["29 entries"]),
        ([[0.0] * 28] * 27 + [[0.0] * 27], ["pixels[27] has 27 numbers", "expected 28"]),
        ([[0.0] * 28] * 27 + [[0.0] * 29], ["pixels[27] has 29 numbers"]),
        ([[0.0] * 28] * 27 + [0.0], ["pixels[27]", "float", "row of 28"]),
        ([[0.0] * 28] * 27 + ["row"], ["pixels[27]", "string"]),
        ([0.0] * 783, ["783 entries"]),
        ([0.0] * 785, ["785 entries"]),
        ([0.5] * 783 + [float("nan")], ["pixels[783]", "nan"]),
        ([0.5] * 783 + [[0.5]], ["pixels[783]", "list"]),
        ([], ["0 entries"]),
        (None, ["null", "list of 28 rows"]),
        ("0.5", ["string"]),
        ({"pixels": []}, ["dict"]),
        (0.5, ["float"]),
        (np.zeros((28, 27)), ["pixels[0] has 27 numbers"]),
    ],
    ids=lambda value: "" if isinstance(value, list) and len(value) > 3 else repr(value)[:30],
)
def test_bad_pixel_lists_raise_a_clear_image_error(values: object, words: list[str]) -> None:
    with pytest.raises(ImageError) as caught:
        pixels_from_list(values)
    for word in words:
        assert word in str(caught.value), str(caught.value)
    assert caught.value.too_large is False


# ---------------------------------------------------------------------------------------------
# prepare_digit and prepare_input


@pytest.mark.parametrize("level", [0.0, 1.0, 0.5, 0.03])
def test_a_blank_image_gives_all_zeros(level: float) -> None:
    blank = np.full((280, 200), level, dtype=np.float32)
    digit = prepare_digit(blank)
    assert digit.shape == (28, 28)
    assert digit.dtype == np.float32
    assert not digit.any()


def test_faint_noise_on_a_blank_canvas_is_still_blank() -> None:
    noise = np.random.default_rng(3).random((100, 100), dtype=np.float32) * 0.05
    assert not prepare_digit(noise).any()
    assert not prepare_digit(1 - noise).any()


def test_a_digit_cut_off_at_the_edge_fits_inside_and_keeps_its_aspect() -> None:
    gray = np.ones((300, 300), dtype=np.float32)  # dark ink on white
    gray[0:200, 280:300] = 0.0  # a tall bar touching the top and right edges
    digit = prepare_digit(gray)
    rows, columns = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    assert rows[-1] - rows[0] + 1 == 20
    assert columns[-1] - columns[0] + 1 == 2  # 200×20 → 20×2
    assert centre_of_mass(digit) == pytest.approx((14.0, 14.0), abs=0.51)


def test_gray_ink_on_gray_paper_is_stretched_to_full_contrast() -> None:
    gray = np.full((120, 120), 0.8, dtype=np.float32)
    gray[30:90, 50:70] = 0.4
    digit = prepare_digit(gray)
    assert digit.max() == pytest.approx(1.0)
    assert digit.min() == 0.0


def test_prepare_digit_does_not_modify_its_input() -> None:
    gray = np.ones((50, 50), dtype=np.float32)
    gray[10:40, 20:30] = 0.0
    before = gray.copy()
    prepare_digit(gray)
    np.testing.assert_array_equal(gray, before)


@pytest.mark.parametrize(
    ("gray", "words"),
    [
        ([[0.0] * 28] * 28, ["numpy array", "list"]),
        (np.zeros((28, 28, 3), dtype=np.float32), ["2-D", "(28, 28, 3)"]),
        (np.zeros(784, dtype=np.float32), ["2-D"]),
        (np.zeros((0, 28), dtype=np.float32), ["non-empty"]),
        (np.full((28, 28), np.nan, dtype=np.float32), ["NaN"]),
        (np.full((28, 28), np.inf), ["infinite"]),
        (np.full((28, 28), 1e300), ["0..1", "1e+300"]),  # would overflow float32
        (np.full((28, 28), 255, dtype=np.uint8), ["0..1", "255"]),
        (np.full((28, 28), -0.5), ["0..1", "-0.5"]),
        (np.zeros((28, 28), dtype=complex), ["real numbers"]),
        (np.zeros((28, 28), dtype=object), ["real numbers"]),
        (np.zeros((28, 28), dtype="U1"), ["real numbers"]),
    ],
    ids=lambda value: repr(getattr(value, "shape", value))[:30],
)
def test_bad_arrays_raise_a_clear_image_error(gray: object, words: list[str]) -> None:
    with pytest.raises(ImageError) as caught:
        prepare_digit(gray)  # type: ignore[arg-type]
    for word in words:
        assert word in str(caught.value), str(caught.value)


def test_prepare_input_gives_a_normalised_batch_of_one() -> None:
    mean, std = mean_std()
    pixels = pixels_from_list(
        [[0.0] * 28] * 10 + [[0.0] * 10 + [1.0] * 8 + [0.0] * 10] * 8 + [[0.0] * 28] * 10
    )
    tensor = prepare_input(pixels, mean, std, prepare=False)
    assert tensor.shape == (1, 1, 28, 28)
    assert tensor.dtype == torch.float32
    torch.testing.assert_close(tensor[0, 0], (torch.from_numpy(pixels) - mean) / std)

    drawn = np.ones((200, 100), dtype=np.float32)
    drawn[20:180, 40:60] = 0.0
    prepared = prepare_input(drawn, mean, std)
    torch.testing.assert_close(
        prepared[0, 0], (torch.from_numpy(prepare_digit(drawn)) - mean) / std
    )


def test_prepare_input_checks_its_arguments() -> None:
    with pytest.raises(ImageError, match="27×28"):
        prepare_input(np.zeros((27, 28), dtype=np.float32), 0.1307, 0.3081, prepare=False)
    with pytest.raises(ValueError, match="std"):
        prepare_input(np.zeros((28, 28), dtype=np.float32), 0.1307, 0.0)
    with pytest.raises(ValueError, match="std"):
        prepare_input(np.zeros((28, 28), dtype=np.float32), float("nan"), 0.3)
