"""The checks an upload passes: its size, its format, a ZIP's safety, its images and its classes.

A ZIP is checked from its central directory before anything is decompressed (names, file types,
declared sizes and compression ratios, entry and image counts), then again while each entry is
read, as headers can lie. Images are parsed by Pillow's format classes directly rather than
`Image.open`, so each header's width and height meet our pixel limit (far under Pillow's own
MAX_IMAGE_PIXELS) before any pixel is decompressed.
"""

from __future__ import annotations

import io
import lzma
import posixpath
import re
import stat
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, Protocol

import numpy as np
import numpy.typing as npt
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    WebPImagePlugin,
)

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a first entry; an empty archive
CENTRAL_ENTRY_SIGNATURE = b"PK\x01\x02"  # one per entry in the central directory
NOT_CSV_SIGNATURES = {
    b"\x1f\x8b": "a gzip file",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
    b"%PDF": "a PDF",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\xff\xfe": "UTF-16 text (save the CSV as UTF-8)",
    b"\xfe\xff": "UTF-16 text (save the CSV as UTF-8)",
}
READ_CHUNK = 1 << 16

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".gif", ".webp"})
UNSUPPORTED_IMAGE_EXTENSIONS = frozenset(
    {".tif", ".tiff", ".heic", ".heif", ".avif", ".svg", ".ico", ".jp2", ".psd", ".dng", ".ppm"}
    | {".pgm", ".pbm", ".pnm"}
)
ARCHIVE_EXTENSIONS = frozenset(
    {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".jar", ".whl"}
)
JUNK_FILE_NAMES = frozenset({"thumbs.db", "desktop.ini"})  # compared lower-case
SUPPORTED_IMAGES = "PNG, JPEG, BMP, GIF or WebP"
SUPPORTED_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
MAX_CLASS_NAME = 100  # characters
AUTO_MAX_SIDE = 64  # size="auto": the first image's size, scaled down to fit 64×64
SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})

ImageOpener = Callable[[IO[bytes]], ImageFile.ImageFile]
IMAGE_OPENERS: dict[str, ImageOpener] = {
    "PNG": PngImagePlugin.PngImageFile,
    "JPEG": JpegImagePlugin.JpegImageFile,
    "BMP": BmpImagePlugin.BmpImageFile,
    "GIF": GifImagePlugin.GifImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
}


class UploadError(ValueError):
    """The upload cannot become a dataset; the message says what is wrong and where.

    `too_large` is True when the upload is over a size limit (the web layer answers 413),
    False for any other problem (422).
    """

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large

    def __reduce__(self) -> tuple[object, ...]:
        """Keep `too_large` when pickled (e.g. across a process pool)."""
        return (_rebuild_upload_error, (str(self), self.too_large))


def _rebuild_upload_error(message: str, too_large: bool) -> UploadError:
    """Unpickle an UploadError with its keyword-only flag."""
    return UploadError(message, too_large=too_large)


@dataclass(frozen=True)
class UploadLimits:
    """Every limit an upload must meet; the app fills them from its settings."""

    max_upload_bytes: int = 50_000_000  # the uploaded file itself
    max_uncompressed_bytes: int = 200_000_000  # the ZIP entries read, decompressed, together
    max_compression_ratio: float = 100.0  # one entry's decompressed / compressed size...
    ratio_grace_bytes: int = 1 << 20  # ...once it is over this (tiny files compress well)
    max_entries: int = 60_000  # ZIP entries, folders and ignored files included
    max_samples: int = 50_000  # images in a ZIP, rows in a CSV
    max_classes: int = 100
    min_per_class: int = 5  # images (or CSV rows) of each class
    max_image_pixels: int = 4096 * 4096  # one source image (Pillow's own limit is ~89 M)
    max_total_pixels: int = 500_000_000  # all source images together, before resizing
    max_side: int = 256  # a side of the converted images (the `size` option)
    max_columns: int = 1_000  # CSV columns
    max_dataset_bytes: int = 250_000_000  # the dataset's inputs in memory


class UploadFormat(StrEnum):
    """What an upload is, told by its content."""

    ZIP = "zip"  # class folders of images
    CSV = "csv"  # a header, numeric feature columns and a label column


class Readable(Protocol):
    """A binary file object (an upload's spooled file, an open file)."""

    def read(self, size: int = -1, /) -> bytes:
        """Read at most `size` bytes."""
        ...


def upload_bytes(upload: bytes | Readable, max_bytes: int) -> bytes:
    """The upload's bytes, refused past `max_bytes` (a file is never read further than that)."""
    if isinstance(upload, bytes | bytearray):
        raw = bytes(upload)
        if len(raw) > max_bytes:
            raise UploadError(
                f"the upload is {len(raw):,} bytes; the most is {max_bytes:,}", too_large=True
            )
    else:
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes and (chunk := upload.read(min(1 << 20, max_bytes + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise UploadError(
                f"the upload is over the limit of {max_bytes:,} bytes", too_large=True
            )
        raw = b"".join(chunks)
    if not raw:
        raise UploadError("the upload is empty")
    return raw


def detect_format(raw: bytes) -> UploadFormat:
    """ZIP by its signature, else CSV if it can be text; refuse anything else."""
    if raw.startswith(ZIP_SIGNATURES):
        return UploadFormat.ZIP
    for signature, what in NOT_CSV_SIGNATURES.items():
        if raw.startswith(signature):
            raise UploadError(f"the upload is {what}, not a ZIP of image folders or a CSV")
    if b"\x00" in raw:
        raise UploadError(
            "the upload is neither a ZIP archive nor a CSV: it is binary (it holds NUL bytes)"
        )
    return UploadFormat.CSV


def check_classes(counts: Mapping[str, int], limits: UploadLimits, unit: str) -> None:
    """Refuse a single class, too many classes, or a class with too few `unit` (images/rows)."""
    if len(counts) < 2:
        only = f" ({next(iter(counts))!r})" if counts else ""
        raise UploadError(f"the upload has only one class{only}; a classifier needs at least two")
    if len(counts) > limits.max_classes:
        raise UploadError(f"the upload has {len(counts)} classes; the most is {limits.max_classes}")
    small = [
        f"{name!r} has {count}" for name, count in counts.items() if count < limits.min_per_class
    ]
    if small:
        shown = ", ".join(small[:5]) + (f" and {len(small) - 5} more" if len(small) > 5 else "")
        raise UploadError(
            f"every class needs at least {limits.min_per_class} {unit}: class {shown}"
        )


@dataclass(frozen=True)
class ImageFolders:
    """A ZIP's images converted: uint8 (N, C, H, W), int64 labels (N,), sorted class names."""

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.int64]
    classes: tuple[str, ...]


def read_image_folders(
    raw: bytes, size: tuple[int, int] | None, channels: int, limits: UploadLimits
) -> ImageFolders:
    """Check a ZIP of class folders, then convert its images to `size` (H, W; None: auto)."""
    if raw.count(CENTRAL_ENTRY_SIGNATURE) > limits.max_entries:  # before zipfile parses them
        raise UploadError(f"the ZIP has more than {limits.max_entries:,} entries", too_large=True)
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as error:
        raise UploadError(f"the ZIP archive is corrupt: {error}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise UploadError(
                f"the ZIP has {len(infos):,} entries; the most is {limits.max_entries:,}",
                too_large=True,
            )
        images = _class_images(infos)
        classes = tuple(sorted({class_name for class_name, _ in images}))
        _check_counts(images, classes, limits)
        _check_declared_sizes([info for _, info in images], limits)
        index = {name: number for number, name in enumerate(classes)}
        labels = np.array([index[class_name] for class_name, _ in images], dtype=np.int64)
        converted = _ImageConverter(archive, size, channels, len(images), limits)
        for number, (_, info) in enumerate(images):
            converted.add(number, info)
    assert converted.images is not None  # there is at least one image per class
    return ImageFolders(converted.images, labels, classes)


def _class_images(infos: list[zipfile.ZipInfo]) -> list[tuple[str, zipfile.ZipInfo]]:
    """Check every entry; return (class name, entry) for each image, sorted by class and name."""
    found: list[tuple[tuple[str, ...], zipfile.ZipInfo]] = []
    for info in infos:
        parts = _checked_parts(info)
        if info.is_dir() or _is_junk(parts):
            continue
        extension = posixpath.splitext(parts[-1].lower())[1]
        if extension in ARCHIVE_EXTENSIONS:
            raise UploadError(
                f"{info.filename} is an archive inside the ZIP; nested archives are not "
                "supported (unpack it into the class folders)"
            )
        if extension in UNSUPPORTED_IMAGE_EXTENSIONS:
            raise UploadError(
                f"{info.filename}: {extension} images are not supported; use {SUPPORTED_IMAGES}"
            )
        if extension in IMAGE_EXTENSIONS:  # any other file (a README, labels.txt) is ignored
            _check_readable(info)
            found.append((parts, info))
    if (
        found
        and len({parts[0] for parts, _ in found}) == 1
        and all(len(parts) >= 3 for parts, _ in found)
    ):  # one common top folder (pets/cat/001.png): the class folders are inside it
        found = [(parts[1:], info) for parts, info in found]
    images: list[tuple[str, zipfile.ZipInfo]] = []
    for parts, info in found:
        if len(parts) < 2:
            raise UploadError(
                f"{info.filename} is not in a class folder; put each class's images in a "
                "folder named after the class (cat/001.png, dog/002.png)"
            )
        class_name = unicodedata.normalize("NFC", parts[0])  # macOS zips names decomposed
        if len(class_name) > MAX_CLASS_NAME:
            raise UploadError(
                f"class folder name {class_name[:40]!r}... is over {MAX_CLASS_NAME} characters"
            )
        images.append((class_name, info))
    images.sort(key=lambda item: (item[0], item[1].filename))
    return images


def _checked_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    """Refuse an entry with an unsafe name or a link or special file; return its path parts."""
    name = info.filename
    if "\\" in name or DRIVE_LETTER.match(name):
        raise UploadError(f"{name!r} in the ZIP is a Windows path (backslash or drive letter)")
    if name.startswith("/"):
        raise UploadError(f"{name!r} in the ZIP is an absolute path")
    if any(ord(character) < 32 or character == "\x7f" for character in name):
        raise UploadError(f"{name!r} in the ZIP has control characters in its name")
    parts = tuple(name.rstrip("/").split("/"))
    if ".." in parts:
        raise UploadError(f"{name!r} in the ZIP points outside the archive ('..')")
    if any(part in ("", ".") for part in parts):
        raise UploadError(f"{name!r} in the ZIP has an empty or '.' path component")
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if file_type == stat.S_IFLNK:
        raise UploadError(f"{name} in the ZIP is a symbolic link; links are not allowed")
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UploadError(f"{name} in the ZIP is not a regular file (a device, FIFO or socket)")
    return parts


def _check_readable(info: zipfile.ZipInfo) -> None:
    """Refuse an entry to be read that is encrypted or compressed in a way zipfile cannot read."""
    if info.flag_bits & 0x1:
        raise UploadError(f"{info.filename} in the ZIP is encrypted; upload an unencrypted ZIP")
    if info.compress_type not in SUPPORTED_METHODS:
        raise UploadError(
            f"{info.filename} in the ZIP uses compression method {info.compress_type}; "
            "use deflate (the usual) or no compression"
        )


def _is_junk(parts: tuple[str, ...]) -> bool:
    """Whether an entry is harmless junk to skip: __MACOSX/, hidden files, Thumbs.db."""
    return parts[-1].lower() in JUNK_FILE_NAMES or any(
        part.startswith(".") or part == "__MACOSX" for part in parts
    )


def _check_counts(
    images: list[tuple[str, zipfile.ZipInfo]], classes: tuple[str, ...], limits: UploadLimits
) -> None:
    """Refuse no images, too many images, and classes that do not make a classifier."""
    if not images:
        raise UploadError(
            f"the ZIP holds no images ({SUPPORTED_IMAGES}) in class folders "
            "(cat/001.png, dog/002.png)"
        )
    if len(images) > limits.max_samples:
        raise UploadError(
            f"the ZIP holds {len(images):,} images; the most is {limits.max_samples:,}",
            too_large=True,
        )
    counts = Counter(class_name for class_name, _ in images)
    check_classes({name: counts[name] for name in classes}, limits, "images")


def _check_declared_sizes(infos: list[zipfile.ZipInfo], limits: UploadLimits) -> None:
    """Refuse a ZIP bomb from its headers: total decompressed size, each entry's ratio."""
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise UploadError(
            f"the ZIP's images decompress to {total:,} bytes; the most is "
            f"{limits.max_uncompressed_bytes:,}",
            too_large=True,
        )
    for info in infos:
        if info.file_size > limits.ratio_grace_bytes and _over_ratio(
            info.file_size, info.compress_size, limits
        ):
            raise UploadError(_bomb_message(info, info.file_size, limits), too_large=True)


def _over_ratio(size: int, compressed: int, limits: UploadLimits) -> bool:
    """Whether `size` decompressed bytes from `compressed` is over the ratio limit."""
    return size > limits.max_compression_ratio * max(compressed, 1)


def _bomb_message(info: zipfile.ZipInfo, size: int, limits: UploadLimits) -> str:
    """Say that an entry expands too much (a ZIP bomb)."""
    return (
        f"{info.filename} in the ZIP expands from {info.compress_size:,} to {size:,} bytes, "
        f"a ratio over the limit of {limits.max_compression_ratio:g} (a ZIP bomb?)"
    )


class _ImageConverter:
    """Reads entries within the byte and pixel budgets and converts them into one array."""

    def __init__(
        self,
        archive: zipfile.ZipFile,
        size: tuple[int, int] | None,
        channels: int,
        count: int,
        limits: UploadLimits,
    ) -> None:
        self.archive = archive
        self.channels = channels
        self.count = count
        self.limits = limits
        self.bytes_left = limits.max_uncompressed_bytes
        self.pixels_left = limits.max_total_pixels
        self.size: tuple[int, int] | None = None  # (H, W)
        self.images: npt.NDArray[np.uint8] | None = None  # (N, C, H, W)
        if size is not None:
            self._allocate(size)

    def _allocate(self, size: tuple[int, int]) -> None:
        """Make the output array once the size is known, within the memory limit."""
        needed = self.count * self.channels * size[0] * size[1]
        if needed > self.limits.max_dataset_bytes:
            raise UploadError(
                f"{self.count:,} images of {self.channels}×{size[0]}×{size[1]} take {needed:,} "
                f"bytes; the most is {self.limits.max_dataset_bytes:,} (choose a smaller size)",
                too_large=True,
            )
        self.size = size
        self.images = np.empty((self.count, self.channels, *size), dtype=np.uint8)

    def add(self, number: int, info: zipfile.ZipInfo) -> None:
        """Read, check and convert the `number`th image."""
        data = self._read(info)
        image = _open_image(data, info.filename)
        with image:
            width, height = image.size
            if width * height > self.limits.max_image_pixels:
                raise UploadError(
                    f"{info.filename} is {width}×{height} pixels; the most is "
                    f"{self.limits.max_image_pixels:,} pixels (a decompression bomb?)",
                    too_large=True,
                )
            self.pixels_left -= width * height
            if self.pixels_left < 0:
                raise UploadError(
                    f"the images together are over {self.limits.max_total_pixels:,} pixels "
                    f"(reached at {info.filename})",
                    too_large=True,
                )
            if self.images is None:
                self._allocate(auto_size(width, height))
            assert self.images is not None and self.size is not None
            try:
                self.images[number] = _pixels(image, self.size, self.channels)
            except Exception as error:  # truncated data, bad CRCs, decoder errors...
                raise UploadError(
                    f"{info.filename} does not decode as an image: {_describe(error)}"
                ) from None

    def _read(self, info: zipfile.ZipInfo) -> bytes:
        """An entry's bytes, counted as they decompress: the headers can lie."""
        chunks: list[bytes] = []
        total = 0
        try:
            with self.archive.open(info) as stream:
                while chunk := stream.read(READ_CHUNK):
                    total += len(chunk)
                    if total > info.file_size:
                        raise UploadError(
                            f"{info.filename} in the ZIP holds more than the {info.file_size:,} "
                            "bytes its header says (a forged header?)",
                            too_large=True,
                        )
                    if total > self.bytes_left:
                        raise UploadError(
                            f"the ZIP's images decompress to more than "
                            f"{self.limits.max_uncompressed_bytes:,} bytes (the limit)",
                            too_large=True,
                        )
                    if total > self.limits.ratio_grace_bytes and _over_ratio(
                        total, info.compress_size, self.limits
                    ):
                        raise UploadError(_bomb_message(info, total, self.limits), too_large=True)
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError) as error:
            raise UploadError(
                f"{info.filename} in the ZIP is corrupt ({error}): its data does not match its "
                "header, which may be forged"
            ) from None
        if total != info.file_size:
            raise UploadError(
                f"{info.filename} in the ZIP is {total:,} bytes but its header says "
                f"{info.file_size:,}; the archive is corrupt or its header is forged"
            )
        self.bytes_left -= total
        return b"".join(chunks)


def auto_size(width: int, height: int) -> tuple[int, int]:
    """(H, W) for size="auto": an image's size, scaled down (aspect kept) to fit 64×64."""
    scale = min(1.0, AUTO_MAX_SIDE / max(width, height))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _open_image(data: bytes, name: str) -> ImageFile.ImageFile:
    """Parse only the header of a supported image (no pixels are decompressed until `load`)."""
    image_format = _sniff_image(data)
    if image_format is None:
        raise UploadError(f"{name} is not a {SUPPORTED_IMAGES} image (it starts {data[:8]!r})")
    try:
        return IMAGE_OPENERS[image_format](io.BytesIO(data))
    except Exception as error:  # Pillow raises many types for malformed headers
        raise UploadError(f"{name} does not decode as an image: {_describe(error)}") from None


def _sniff_image(data: bytes) -> str | None:
    """Which supported format the bytes are, from their signature."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith(b"BM"):
        return "BMP"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _pixels(
    image: ImageFile.ImageFile, size: tuple[int, int], channels: int
) -> npt.NDArray[np.uint8]:
    """Decode, flatten transparency onto white, convert and resize: uint8 (C, H, W)."""
    height, width = size
    mode = "L" if channels == 1 else "RGB"
    image.draft(mode, (width, height))  # JPEG decodes at a reduced scale when it can
    image.load()
    converted: Image.Image = image
    if converted.mode in SIXTEEN_BIT_MODES:
        wide = np.asarray(converted, dtype=np.float32)  # (H, W), 0..65535
        converted = Image.fromarray(np.clip(wide / 257.0 + 0.5, 0, 255).astype(np.uint8))
    if converted.has_transparency_data:
        rgba = converted.convert("RGBA")
        converted = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    converted = converted.convert(mode)
    if converted.size != (width, height):
        converted = converted.resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(converted, dtype=np.uint8)  # (H, W) or (H, W, 3)
    return array[np.newaxis] if channels == 1 else array.transpose(2, 0, 1)


def _describe(error: Exception) -> str:
    """A short description of a decoder's exception for an error message."""
    text = str(error).strip() or "no details"
    return f"{text} ({type(error).__name__})"
