"""Decode a browser's `data:image/...;base64,` URL into a grayscale array, safely.

Every limit is checked as early as it can be: the string's length before base64 decoding, the
decoded size before Pillow sees the bytes, and the header's width and height before any pixel is
decompressed. The image is parsed with Pillow's PNG or JPEG class directly rather than
`Image.open`, so Pillow's own decompression-bomb check (which warns before it refuses) never runs;
ours is far stricter and runs at the same point, right after the header is read.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin

from app.imaging.errors import ImageError

DEFAULT_MAX_BYTES = 2_000_000
DEFAULT_MAX_SIDE = 1024
DEFAULT_MIN_SIDE = 8  # smaller than this cannot hold a legible digit
MAX_HEADER_CHARS = 200  # "data:image/png;base64," plus room for parameters

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
MEDIA_TYPE_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/jpg": "JPEG"}
SUPPORTED = "PNG or JPEG"

SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})

Pixel = TypeVar("Pixel", np.float32, np.uint8)


def decode_data_url(
    data_url: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_side: int = DEFAULT_MAX_SIDE,
    min_side: int = DEFAULT_MIN_SIDE,
) -> npt.NDArray[np.float32]:
    """Decode a PNG or JPEG data URL to grayscale float32 (H, W) in 0..1 (0 black, 1 white).

    Transparent pixels are composited onto white, so a transparent canvas with dark strokes
    reads as dark ink on light paper (onto black if the visible strokes are light).
    Raises ImageError for anything wrong or over a limit.
    """
    return _decode_image(*_checked_bytes(data_url, max_bytes), max_side, min_side, _grayscale)


def decode_levels(
    data_url: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_side: int = DEFAULT_MAX_SIDE,
    min_side: int = DEFAULT_MIN_SIDE,
) -> npt.NDArray[np.uint8]:
    """`decode_data_url` as 8-bit grey levels (H, W), 0..255 (a 16-bit image is rounded to 8
    bits): what a canvas's PNG holds, with no float made of each pixel (see `place_levels`)."""
    return _decode_image(*_checked_bytes(data_url, max_bytes), max_side, min_side, _gray_levels)


def _checked_bytes(data_url: str, max_bytes: int) -> tuple[bytes, str]:
    """The image's bytes and format, every check that needs no decoding passed."""
    if not isinstance(data_url, str):
        raise ImageError(f"image must be a data URL string, not {type(data_url).__name__}")
    max_encoded_chars = 4 * -(-max_bytes // 3)  # base64 of max_bytes bytes
    if len(data_url) > MAX_HEADER_CHARS + max_encoded_chars:
        raise ImageError(
            f"image data URL is {len(data_url):,} characters; the most is about "
            f"{MAX_HEADER_CHARS + max_encoded_chars:,} ({max_bytes:,} bytes of image)",
            too_large=True,
        )
    declared_format, payload = _split_data_url(data_url)
    raw = _decode_base64(payload, max_bytes)
    actual_format = _sniff_format(raw)
    if actual_format != declared_format:
        raise ImageError(
            f"the data URL says {declared_format} but the data is a {actual_format} image"
        )
    return raw, actual_format


def decode_sample(
    data_url: str, height: int, width: int, channels: int = 1
) -> npt.NDArray[np.float32]:
    """Decode a PNG or JPEG data URL to a dataset's sample shape: float32 (C, H, W) in 0..1,
    stretched to height × width (bilinear), grey (C = 1, as decode_data_url) or RGB (C = 3,
    transparency composited onto white)."""
    gray = decode_data_url(data_url)  # checks and limits: the same as for a drawn digit
    if channels == 1:
        image = Image.fromarray(np.round(gray * 255).astype(np.uint8), mode="L")
    else:
        declared_format, payload = _split_data_url(data_url)
        with _open_header(_decode_base64(payload, DEFAULT_MAX_BYTES), declared_format) as opened:
            opened.load()
            rgba = opened.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    resized = image.resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(resized, dtype=np.float32) / np.float32(255)  # (H, W) or (H, W, 3)
    sample = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return np.ascontiguousarray(sample)  # (C, H, W)


def _split_data_url(data_url: str) -> tuple[str, str]:
    """Check the `data:<type>;base64,` header; return the declared format and the payload."""
    header, comma, payload = data_url.partition(",")
    if not comma or header[:5].lower() != "data:" or len(header) > MAX_HEADER_CHARS:
        start = data_url[:30]
        raise ImageError(
            f"image must be a data URL like 'data:image/png;base64,...'; got {start!r}"
            + ("..." if len(data_url) > 30 else "")
        )
    media_type, *parameters = (part.strip().lower() for part in header[5:].split(";"))
    image_format = MEDIA_TYPE_FORMATS.get(media_type)
    if image_format is None:
        raise ImageError(
            f"image media type {media_type or '(none)'!r} is not supported; "
            "use image/png or image/jpeg"
        )
    if "base64" not in parameters:
        raise ImageError("image data URL must be base64-encoded (';base64,' after the type)")
    return image_format, payload


def _decode_base64(payload: str, max_bytes: int) -> bytes:
    """Strictly decode base64 (the caller has bounded its length); check the size in bytes."""
    if not payload:
        raise ImageError("image data is empty")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ImageError(f"image data is not valid base64: {error}") from None
    if len(raw) > max_bytes:
        raise ImageError(f"image is {len(raw):,} bytes; the most is {max_bytes:,}", too_large=True)
    if not raw:
        raise ImageError("image data is empty")
    return raw


def _sniff_format(raw: bytes) -> str:
    """Which supported format the bytes are, from their signature."""
    if raw.startswith(PNG_SIGNATURE):
        return "PNG"
    if raw.startswith(JPEG_SIGNATURE):
        return "JPEG"
    raise ImageError(f"image data is not a {SUPPORTED} image (it starts with {raw[:8]!r})")


def _decode_image(
    raw: bytes,
    image_format: str,
    max_side: int,
    min_side: int,
    grey: Callable[[Image.Image], npt.NDArray[Pixel]],
) -> npt.NDArray[Pixel]:
    """Read the header, check the size, then decode the pixels to grayscale with `grey`."""
    try:
        image = _open_header(raw, image_format)
    except Exception as error:  # Pillow raises many types for malformed headers
        raise ImageError(f"cannot read the {image_format} header: {_describe(error)}") from None
    with image:
        width, height = image.size
        if width > max_side or height > max_side:
            raise ImageError(
                f"image is {width}×{height} pixels; the most is {max_side}×{max_side}",
                too_large=True,
            )
        if width < min_side or height < min_side:
            raise ImageError(
                f"image is {width}×{height} pixels; the least is {min_side}×{min_side}"
            )
        try:
            image.load()
            return grey(image)
        except Exception as error:  # truncated data, bad CRCs, decoder errors...
            raise ImageError(
                f"cannot decode the {image_format} image: {_describe(error)}"
            ) from None


def _open_header(raw: bytes, image_format: str) -> ImageFile.ImageFile:
    """Parse only the header (no pixels are decompressed until `load`)."""
    stream = io.BytesIO(raw)
    if image_format == "PNG":
        return PngImagePlugin.PngImageFile(stream)
    return JpegImagePlugin.JpegImageFile(stream)


def _grayscale(image: Image.Image) -> npt.NDArray[np.float32]:
    """Grayscale float32 (H, W) in 0..1, with any transparency composited onto white."""
    if image.mode in SIXTEEN_BIT_MODES:
        return _sixteen_bits(image)
    return _gray_levels(image).astype(np.float32) / np.float32(255)  # (H, W)


def _gray_levels(image: Image.Image) -> npt.NDArray[np.uint8]:
    """Grey levels uint8 (H, W), 0..255, with any transparency composited onto white."""
    if image.mode in SIXTEEN_BIT_MODES:
        rounded: npt.NDArray[np.uint8] = np.rint(_sixteen_bits(image) * 255).astype(np.uint8)
        return rounded
    if image.has_transparency_data:
        image = _composited(image.convert("RGBA"))
    return np.asarray(image.convert("L"), dtype=np.uint8)  # (H, W)


def _sixteen_bits(image: Image.Image) -> npt.NDArray[np.float32]:
    """A 16-bit grey image as float32 (H, W) in 0..1."""
    wide = np.asarray(image, dtype=np.float32)  # (H, W), 0..65535
    scaled: npt.NDArray[np.float32] = np.clip(wide / 65535.0, 0.0, 1.0)
    return scaled


def _composited(rgba: Image.Image) -> Image.Image:
    """Flatten transparency onto white, or onto black when the visible strokes are light.

    Dark strokes on a transparent canvas (the common case) become dark ink on white; light
    strokes (a canvas styled dark) become light ink on black instead of vanishing.
    """
    visible_levels = rgba.convert("L").histogram(mask=rgba.getchannel("A"))  # 256 counts
    visible = sum(visible_levels)
    mean_level = sum(level * count for level, count in enumerate(visible_levels)) / max(visible, 1)
    background = (0, 0, 0, 255) if visible and mean_level > 127.5 else (255, 255, 255, 255)
    # Pillow composites in 8 bits, 4× faster than float numpy and within 0.003 of it
    return Image.alpha_composite(Image.new("RGBA", rgba.size, background), rgba)


def _describe(error: Exception) -> str:
    """A short description of a decoder's exception for an error message."""
    text = str(error).strip() or "no details"
    return f"{text} ({type(error).__name__})"
