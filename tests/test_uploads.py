"""Uploads: ZIPs of class folders and CSVs into datasets, every bad input refused, storage."""

import io
import logging
import pickle
import struct
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from app.data import upload_checks, uploads
from app.data.dataset import TaskKind
from app.data.uploads import (
    DatasetSource,
    DatasetStoreError,
    UploadError,
    UploadLimits,
    UploadOptions,
    load_dataset,
    load_meta,
    read_upload,
    save_dataset,
    split_indices,
)

CLASSES = ("cat", "dog", "fox")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SYMLINK_MODE = 0o120777


def image_bytes(
    color: int | tuple[int, ...] = 128,
    size: tuple[int, int] = (8, 8),
    mode: str = "L",
    image_format: str = "PNG",
) -> bytes:
    """A small solid image, encoded."""
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, image_format)
    return buffer.getvalue()


def make_zip(
    entries: Sequence[tuple[str | zipfile.ZipInfo, bytes]],
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A ZIP of the given entries, in order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def class_entries(
    per_class: int | dict[str, int] = 10, classes: tuple[str, ...] = CLASSES, top: str = ""
) -> list[tuple[str | zipfile.ZipInfo, bytes]]:
    """Class folders of solid PNGs; class i's pixels are 40 × (i + 1), so labels can be checked."""
    counts = per_class if isinstance(per_class, dict) else dict.fromkeys(classes, per_class)
    return [
        (f"{top}{name}/{number:03d}.png", image_bytes(40 * (index + 1)))
        for index, (name, count) in enumerate(counts.items())
        for number in range(count)
    ]


def refused(upload: bytes, *fragments: str, **kwargs: object) -> UploadError:
    """Assert the upload is refused with a message holding every fragment; return the error."""
    with pytest.raises(UploadError) as caught:
        read_upload(upload, "test", **kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return caught.value


def test_a_zip_of_three_classes_becomes_a_stratified_classification_dataset() -> None:
    dataset = read_upload(make_zip(class_entries()), " pets ").dataset
    assert dataset.name == "pets"
    assert dataset.kind is TaskKind.CLASSIFICATION
    assert dataset.classes == CLASSES
    assert dataset.input_shape == (1, 28, 28)
    assert dataset.is_image
    assert (len(dataset.train), len(dataset.validation), len(dataset.test)) == (24, 3, 3)
    for split, per_class in [(dataset.train, 8), (dataset.validation, 1), (dataset.test, 1)]:
        assert split.inputs.dtype == torch.uint8
        assert split.inputs.shape[1:] == (1, 28, 28)
        assert split.targets.dtype == torch.int64
        assert Counter(split.targets.tolist()) == dict.fromkeys(range(3), per_class)
        for image, target in zip(split.inputs, split.targets, strict=True):
            assert bool((image == 40 * (int(target) + 1)).all())  # the label matches the folder


def test_the_split_is_determined_by_the_seed() -> None:
    upload = make_zip(class_entries())
    first, again = (read_upload(upload, "a", UploadOptions(seed=1)).dataset for _ in range(2))
    other = read_upload(upload, "a", UploadOptions(seed=2)).dataset
    for name in ("train", "validation", "test"):
        assert torch.equal(getattr(first, name).inputs, getattr(again, name).inputs)
        assert torch.equal(getattr(first, name).targets, getattr(again, name).targets)
    assert not torch.equal(first.train.targets, other.train.targets)


def test_a_file_object_a_top_folder_and_junk_are_accepted() -> None:
    junk: list[tuple[str | zipfile.ZipInfo, bytes]] = [
        ("__MACOSX/pets/cat/._001.png", b"\x00\x05\x16\x07 apple double"),
        ("pets/.DS_Store", b"\x00\x00\x00\x01Bud1"),
        ("pets/cat/.hidden.png", b"not an image"),
        ("pets/dog/Thumbs.db", b"junk"),
        ("pets/README.txt", b"about these pets"),
        ("pets/cat/", b""),
    ]
    upload = make_zip(junk + class_entries(5, top="pets/"))
    result = read_upload(io.BytesIO(upload), "pets")
    assert result.dataset.classes == CLASSES
    assert sum(map(len, (result.dataset.train, result.dataset.validation))) == 12
    assert result.source == DatasetSource("zip")


def test_rgb_is_kept_only_when_asked() -> None:
    colors = {"red": (255, 0, 0), "green": (0, 255, 0)}
    entries: list[tuple[str | zipfile.ZipInfo, bytes]] = [
        (f"{name}/{number}.png", image_bytes(color, mode="RGB"))
        for name, color in colors.items()
        for number in range(5)
    ]
    upload = make_zip(entries)
    rgb = read_upload(upload, "c", UploadOptions(channels=3)).dataset
    assert rgb.input_shape == (3, 28, 28)
    for image, target in zip(rgb.train.inputs, rgb.train.targets, strict=True):
        expected = torch.tensor(colors[rgb.classes[int(target)]], dtype=torch.uint8)
        assert torch.equal(image[:, 0, 0], expected)
    gray = read_upload(upload, "c").dataset
    assert gray.input_shape == (1, 28, 28)
    assert {int(image[0, 0, 0]) for image in gray.train.inputs} == {76, 150}  # ITU-R 601-2 luma


def test_sizes_auto_and_explicit() -> None:
    big_first = make_zip(
        [(f"a/{n}.png", image_bytes(size=(100, 80))) for n in range(5)]
        + [(f"b/{n}.png", image_bytes(size=(10, 10))) for n in range(5)]
    )
    assert read_upload(big_first, "x", UploadOptions(size="auto")).dataset.input_shape == (
        1,
        51,
        64,
    )  # 100 wide × 80 high, scaled to fit 64×64
    small_first = make_zip(
        [(f"a/{n}.png", image_bytes(size=(16, 12))) for n in range(5)]
        + [(f"b/{n}.png", image_bytes(size=(300, 300))) for n in range(5)]
    )
    assert read_upload(small_first, "x", UploadOptions(size="auto")).dataset.input_shape == (
        1,
        12,
        16,
    )
    explicit = read_upload(small_first, "x", UploadOptions(size=(32, 16), channels=3)).dataset
    assert explicit.train.inputs.shape[1:] == (3, 32, 16)


def test_other_formats_decode_and_transparency_becomes_white() -> None:
    entries = [
        ("jpeg/1.jpg", image_bytes((200, 200, 200), mode="RGB", image_format="JPEG")),
        ("bmp/1.bmp", image_bytes(200, image_format="BMP")),
        ("gif/1.gif", image_bytes(200, image_format="GIF")),
        ("webp/1.webp", image_bytes((200, 200, 200), mode="RGB", image_format="WEBP")),
        ("clear/1.png", image_bytes((0, 0, 0, 0), mode="RGBA")),  # transparent black
        ("sixteen/1.png", image_bytes(65535, mode="I;16")),
    ]
    upload = make_zip(
        [(name.replace("/1.", f"/{copy}."), data) for name, data in entries for copy in range(5)]
    )
    dataset = read_upload(upload, "formats").dataset
    everything = torch.cat([dataset.train.inputs, dataset.validation.inputs, dataset.test.inputs])
    targets = torch.cat([dataset.train.targets, dataset.validation.targets, dataset.test.targets])
    for index, name in enumerate(dataset.classes):
        values = everything[targets == index]
        expected = {"clear": 255, "sixteen": 255}.get(name, 200)
        assert int(values.min()) >= expected - 3 and int(values.max()) <= expected + 3, name


def csv_bytes(header: str, rows: list[str]) -> bytes:
    """CSV text with a header line."""
    return ("\n".join([header, *rows]) + "\n").encode()


def test_a_csv_with_text_labels_is_classification() -> None:
    rows = [f"{i},{i * 0.5},{species}" for species in ("b", "a", "c") for i in range(10)]
    result = read_upload(csv_bytes("x1, x2 ,species", rows), "iris")
    dataset = result.dataset
    assert dataset.kind is TaskKind.CLASSIFICATION
    assert dataset.classes == ("a", "b", "c")
    assert dataset.input_shape == (2,)
    assert not dataset.is_image
    assert dataset.train.inputs.dtype == torch.float32
    assert (len(dataset.train), len(dataset.validation), len(dataset.test)) == (24, 3, 3)
    assert result.source == DatasetSource("csv", ("x1", "x2"), "species")
    first = dataset.train.inputs[0]
    assert float(first[1]) == float(first[0]) * 0.5  # the columns keep their order


def test_a_csv_with_many_numeric_labels_is_regression() -> None:
    rows = [f"{i},{i * 2.5}" for i in range(40)]
    dataset = read_upload(csv_bytes("x,y", rows), "line").dataset
    assert dataset.kind is TaskKind.REGRESSION
    assert dataset.classes == ()
    assert dataset.outputs == 1
    assert dataset.train.targets.dtype == torch.float32
    assert (len(dataset.train), len(dataset.validation), len(dataset.test)) == (32, 4, 4)
    for split in (dataset.train, dataset.validation, dataset.test):
        assert torch.equal(split.targets, split.inputs[:, 0] * 2.5)


def test_few_numeric_labels_are_classes_in_numeric_order_unless_regression_is_asked() -> None:
    rows = [f"{i},{label}" for label in (10, 2, 1) for i in range(6)]
    upload = csv_bytes("x,digit", rows)
    dataset = read_upload(upload, "digits").dataset
    assert dataset.kind is TaskKind.CLASSIFICATION
    assert dataset.classes == ("1", "2", "10")
    forced = read_upload(upload, "d", UploadOptions(task=TaskKind.REGRESSION)).dataset
    assert forced.kind is TaskKind.REGRESSION


def test_a_csv_label_column_semicolons_quotes_and_a_bom() -> None:
    rows = [f'"{label}";{i};"{i}.5"' for label in ("yes", "no") for i in range(5)]
    upload = "\ufeff".encode() + csv_bytes("answer;a;b", rows)
    result = read_upload(upload, "q", UploadOptions(label="answer"))
    assert result.dataset.classes == ("no", "yes")
    assert result.source.features == ("a", "b")


@pytest.mark.parametrize(
    ("upload", "fragment"),
    [
        (b"%PDF-1.7 ...", "a PDF"),
        (b"\x1f\x8b\x08\x00gzip", "a gzip file"),
        (b"a,b\n1,\x00\n", "binary"),
        ("a,b\ncafé,1\n".encode("latin-1"), "not UTF-8"),
        (b"", "empty"),
        (b"PK\x03\x04 and then nothing", "corrupt"),
    ],
)
def test_what_is_neither_a_zip_nor_a_csv_is_refused(upload: bytes, fragment: str) -> None:
    refused(upload, fragment)


def test_an_upload_over_the_byte_limit_is_refused_saying_the_limit() -> None:
    upload = make_zip(class_entries())
    limits = UploadLimits(max_upload_bytes=1_000)
    error = refused(upload, "1,000", limits=limits)
    assert error.too_large
    with pytest.raises(UploadError, match="1,000") as caught:
        read_upload(io.BytesIO(upload), "t", limits=limits)
    assert caught.value.too_large
    assert pickle.loads(pickle.dumps(caught.value)).too_large


def test_a_highly_compressible_entry_is_refused_as_a_zip_bomb() -> None:
    bomb = make_zip([*class_entries(5), ("cat/bomb.png", bytes(20_000_000))])
    assert len(bomb) < 100_000
    assert refused(bomb, "cat/bomb.png", "ratio", "ZIP bomb").too_large
    limits = UploadLimits(max_compression_ratio=1e9, max_uncompressed_bytes=10_000_000)
    assert refused(bomb, "decompress to", "10,000,000", limits=limits).too_large


def patch_headers(upload: bytes, name: str, field: str, value: int) -> bytes:
    """Rewrite a field of an entry's local and central headers (a lying or odd ZIP).

    `field` is "size" (the uncompressed size) or "flags" (the general purpose bits).
    """
    layout = {  # signature, (offset of size, of flags), offset of the name's length, of the name
        b"PK\x03\x04": ({"size": ("<I", 22), "flags": ("<H", 6)}, 26, 30),
        b"PK\x01\x02": ({"size": ("<I", 24), "flags": ("<H", 8)}, 28, 46),
    }
    patched = bytearray(upload)
    encoded = name.encode()
    for signature, (fields, name_length_at, name_at) in layout.items():
        start = patched.find(signature)
        while start >= 0:
            (length,) = struct.unpack_from("<H", patched, start + name_length_at)
            if patched[start + name_at : start + name_at + length] == encoded:
                form, offset = fields[field]
                struct.pack_into(form, patched, start + offset, value)
            start = patched.find(signature, start + 1)
    return bytes(patched)


def test_an_entry_whose_header_lies_about_its_size_is_refused() -> None:
    smaller = make_zip([*class_entries(5), ("cat/liar.png", bytes(5_000_000))])
    smaller = patch_headers(smaller, "cat/liar.png", "size", 1_000)
    refused(smaller, "cat/liar.png", "header")
    larger = make_zip(
        [*class_entries(5), ("cat/liar.png", image_bytes())], compression=zipfile.ZIP_STORED
    )
    larger = patch_headers(larger, "cat/liar.png", "size", 50_000)
    refused(larger, "cat/liar.png", "header says 50,000")


def test_the_counters_stop_an_entry_while_it_is_read_whatever_the_headers_said() -> None:
    """zipfile already stops at an entry's declared size; these counters are a second guard."""
    upload = make_zip([("cat/bomb.png", bytes(3_000_000))])
    with zipfile.ZipFile(io.BytesIO(upload)) as archive:
        (info,) = archive.infolist()
        for limits, fragment in [
            (UploadLimits(max_uncompressed_bytes=100_000), "more than 100,000 bytes"),
            (UploadLimits(ratio_grace_bytes=100_000), "ratio over the limit of 100"),
        ]:
            converter = upload_checks._ImageConverter(archive, (28, 28), 1, 1, limits)
            with pytest.raises(UploadError, match=fragment):
                converter.add(0, info)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../cat/001.png", "outside the archive"),
        ("cat/../../etc/001.png", "outside the archive"),
        ("/cat/001.png", "absolute"),
        ("cat\\001.png", "Windows path"),
        ("C:/cat/001.png", "Windows path"),
        ("cat//001.png", "empty"),
        ("cat/\x1b001.png", "control characters"),
    ],
)
def test_unsafe_names_are_refused(name: str, fragment: str) -> None:
    refused(make_zip([*class_entries(5), (name, image_bytes())]), fragment)


def test_unsafe_names_are_refused_even_in_junk() -> None:
    refused(make_zip([*class_entries(5), ("__MACOSX/../../x", b"")]), "outside the archive")


def test_a_symlink_entry_is_refused() -> None:
    link = zipfile.ZipInfo("cat/link.png")
    link.create_system = 3
    link.external_attr = SYMLINK_MODE << 16
    refused(make_zip([*class_entries(5), (link, b"/etc/passwd")]), "cat/link.png", "symbolic link")


def test_an_encrypted_entry_is_refused() -> None:
    upload = make_zip([*class_entries(5), ("cat/secret.png", image_bytes())])
    refused(patch_headers(upload, "cat/secret.png", "flags", 0x1), "cat/secret.png", "encrypted")


def test_a_nested_archive_is_refused() -> None:
    inner = make_zip(class_entries(5))
    refused(make_zip([*class_entries(5), ("dog/more.zip", inner)]), "dog/more.zip", "nested")


def test_an_unsupported_image_type_is_refused() -> None:
    upload = make_zip([*class_entries(5), ("dog/x.tiff", image_bytes(image_format="TIFF"))])
    refused(upload, "dog/x.tiff", "not supported")


def test_an_image_outside_a_class_folder_is_refused() -> None:
    refused(
        make_zip([*class_entries(5), ("loose.png", image_bytes())]), "loose.png", "class folder"
    )


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"just some text", "not a PNG, JPEG, BMP, GIF or WebP image"),
        (PNG_SIGNATURE + b"garbage after the signature", "does not decode"),
        (image_bytes(size=(64, 64))[:-30], "does not decode"),  # truncated pixels
    ],
)
def test_an_undecodable_image_is_refused_by_name(data: bytes, fragment: str) -> None:
    refused(make_zip([*class_entries(5), ("dog/broken.png", data)]), "dog/broken.png", fragment)


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width × height pixels and holds none (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def test_an_image_over_the_pixel_limit_is_refused() -> None:
    upload = make_zip([*class_entries(5), ("fox/huge.png", png_header(100_000, 100_000))])
    error = refused(upload, "fox/huge.png", "100000×100000", "16,777,216", "decompression bomb")
    assert error.too_large
    small_limit = UploadLimits(max_image_pixels=63)
    refused(make_zip(class_entries(5)), "cat/000.png", "8×8", limits=small_limit)
    total_limit = UploadLimits(max_total_pixels=64 * 14)
    refused(make_zip(class_entries(5)), "together", "896", limits=total_limit)


def test_one_class_is_refused() -> None:
    refused(make_zip(class_entries(10, classes=("cat",))), "only one class", "'cat'")


def test_a_class_with_too_few_images_is_refused() -> None:
    upload = make_zip(class_entries({"cat": 10, "dog": 3, "fox": 10}))
    refused(upload, "at least 5 images", "'dog' has 3")
    read_upload(upload, "ok", limits=UploadLimits(min_per_class=3))


def test_too_many_classes_images_or_entries_are_refused() -> None:
    upload = make_zip(class_entries(5))
    refused(upload, "3 classes", "the most is 2", limits=UploadLimits(max_classes=2))
    assert refused(upload, "15 images", "14", limits=UploadLimits(max_samples=14)).too_large
    assert refused(upload, "entries", "10", limits=UploadLimits(max_entries=10)).too_large
    refused(upload, "bytes", limits=UploadLimits(max_dataset_bytes=1_000))


def test_no_images_are_refused() -> None:
    refused(make_zip([("notes/readme.txt", b"hello")]), "no images")
    refused(make_zip([]), "no images")


@pytest.mark.parametrize(
    ("text", "options", "fragments"),
    [
        ("a,b,y\n1,2,p\n3,,q\n", {}, ("line 3", "column 2", "'b'", "missing")),
        ("a,b,y\n1,2,p\n3,abc,q\n", {}, ("line 3", "column 2", "'b'", "'abc' is not a number")),
        ("a,b,y\n1,nan,p\n", {}, ("line 2", "column 2", "not a finite")),
        ("a,b,y\n1,2,p\n1,2\n", {}, ("line 3", "2 fields", "header has 3")),
        ("a,b,y\n1,2,p\n1,2,p,4\n", {}, ("line 3", "4 fields")),
        ("a,b,y\n1,2,\n", {}, ("line 2", "label is missing")),
        ("a,b,y\n", {}, ("no rows",)),
        ("\n\n", {}, ("empty",)),
        ("just one column\n1\n", {}, ("one column",)),
        ("a,a,y\n1,2,p\n", {}, ("'a' appears twice",)),
        ("a,,y\n1,2,p\n", {}, ("column 2 has no name",)),
        ("a,b,y\n1,2,p\n", {"label": "z"}, ("no column 'z'", "'a', 'b', 'y'")),
        ('a,b,y\n1,2,"p\n', {}, ("line",)),
        (
            "a,y\n1,p\n",
            {"task": TaskKind.REGRESSION},
            ("line 2", "'p' is not a number", "regression"),
        ),
    ],
)
def test_a_bad_csv_is_refused_naming_line_and_column(
    text: str, options: dict[str, object], fragments: tuple[str, ...]
) -> None:
    refused(text.encode(), *fragments, options=UploadOptions(**options))  # type: ignore[arg-type]


def test_csv_classes_and_rows_meet_the_limits() -> None:
    one_class = csv_bytes("x,y", [f"{i},same" for i in range(10)])
    refused(one_class, "only one class", "'same'")
    tiny_class = csv_bytes("x,y", [f"{i},{'a' if i < 10 else 'b'}" for i in range(12)])
    refused(tiny_class, "at least 5 rows", "'b' has 2")
    many = csv_bytes("x,y", [f"{i},{i % 2}" for i in range(30)])
    assert refused(many, "more than 20 rows", limits=UploadLimits(max_samples=20)).too_large


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (UploadOptions(size=(0, 28)), "size"),
        (UploadOptions(size=(28, 1000)), "size"),
        (UploadOptions(channels=2), "channels"),  # type: ignore[arg-type]
        (UploadOptions(fractions=(0.5, 0.2, 0.2)), "fractions"),
        (UploadOptions(fractions=(0.0, 0.5, 0.5)), "fractions"),
        (UploadOptions(seed=-1), "seed"),
        (UploadOptions(task="guess"), "task"),  # type: ignore[arg-type]
        (UploadOptions(task=TaskKind.REGRESSION), "not regression"),
    ],
)
def test_bad_options_are_refused(options: UploadOptions, fragment: str) -> None:
    refused(make_zip(class_entries(5)), fragment, options=options)


def test_a_bad_dataset_name_is_refused() -> None:
    for name in ("x" * 101, "  \n ", "tab\there"):
        with pytest.raises(UploadError, match="name"):
            read_upload(make_zip(class_entries(5)), name)


def test_split_indices_cover_every_sample_once_and_refuse_too_few() -> None:
    train, validation, test = split_indices(41, None, (0.8, 0.1, 0.1), seed=0)
    assert (len(train), len(validation), len(test)) == (33, 4, 4)
    assert sorted(np.concatenate([train, validation, test]).tolist()) == list(range(41))
    assert [len(part) for part in split_indices(3, None, (1.0, 0.0, 0.0), 0)] == [3, 0, 0]
    with pytest.raises(UploadError, match="too few"):
        split_indices(3, None, (0.8, 0.1, 0.1), seed=0)


def test_a_dataset_round_trips_through_the_store(tmp_path: Path) -> None:
    for upload, source in [
        (make_zip(class_entries()), DatasetSource("zip")),
        (csv_bytes("x,y", [f"{i},{i / 3}" for i in range(40)]), DatasetSource("csv", ("x",), "y")),
    ]:
        dataset = read_upload(upload, "stored").dataset
        directory = tmp_path / "datasets" / source.format
        save_dataset(dataset, directory, source)
        assert sorted(path.name for path in directory.iterdir()) == [
            "dataset.json",
            "dataset.safetensors",
        ]
        loaded = load_dataset(directory)
        assert (loaded.name, loaded.kind, loaded.classes, loaded.input_shape) == (
            dataset.name,
            dataset.kind,
            dataset.classes,
            dataset.input_shape,
        )
        for name in ("train", "validation", "test"):
            assert torch.equal(getattr(loaded, name).inputs, getattr(dataset, name).inputs)
            assert torch.equal(getattr(loaded, name).targets, getattr(dataset, name).targets)
        meta = load_meta(directory)
        assert meta.source == source
        assert meta.split_sizes == (len(dataset.train), len(dataset.validation), len(dataset.test))
    assert [
        path.name for path in (tmp_path / "datasets").iterdir() if path.name.startswith(".")
    ] == []


def test_a_failed_save_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = read_upload(make_zip(class_entries(5)), "x").dataset
    written: list[Path] = []
    real_write = uploads._write

    def failing_write(path: Path, content: bytes) -> None:
        real_write(path, content)
        written.append(path)
        if path.name == "dataset.json":
            raise OSError("disk full")

    monkeypatch.setattr(uploads, "_write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        save_dataset(dataset, tmp_path / "datasets" / "one")
    assert len(written) == 2
    assert list((tmp_path / "datasets").iterdir()) == []


def test_saving_over_a_dataset_is_refused(tmp_path: Path) -> None:
    dataset = read_upload(make_zip(class_entries(5)), "x").dataset
    save_dataset(dataset, tmp_path / "one")
    with pytest.raises(FileExistsError):
        save_dataset(dataset, tmp_path / "one")
    (tmp_path / "empty").mkdir()
    save_dataset(dataset, tmp_path / "empty")  # an empty directory is replaced


def test_a_damaged_store_is_refused(tmp_path: Path) -> None:
    dataset = read_upload(make_zip(class_entries(5)), "x").dataset
    with pytest.raises(DatasetStoreError, match="not found"):
        load_dataset(tmp_path / "missing")
    save_dataset(dataset, tmp_path / "one")
    tensors = tmp_path / "one" / "dataset.safetensors"
    content = bytearray(tensors.read_bytes())
    content[-1] ^= 0xFF
    tensors.write_bytes(bytes(content))
    with pytest.raises(DatasetStoreError, match="corrupt"):
        load_dataset(tmp_path / "one")
    (tmp_path / "one" / "dataset.json").write_text("{}")
    with pytest.raises(DatasetStoreError, match="not a nnp-dataset-v1"):
        load_meta(tmp_path / "one")


def test_converting_two_thousand_small_pngs_is_quick() -> None:
    pngs = [image_bytes(level, size=(28, 28)) for level in range(0, 250, 25)]
    entries: list[tuple[str | zipfile.ZipInfo, bytes]] = [
        (f"{label}/{number:04d}.png", pngs[number % len(pngs)])
        for label in ("even", "odd")
        for number in range(1_000)
    ]
    upload = make_zip(entries)
    started = time.perf_counter()
    dataset = read_upload(upload, "speed").dataset
    elapsed = time.perf_counter() - started
    logging.getLogger(__name__).info("2,000 PNGs of 28×28 converted in %.2f s", elapsed)
    assert len(dataset.train) + len(dataset.validation) + len(dataset.test) == 2_000
    assert elapsed < 30  # loose: about 1 s on one core; the bound only catches pathologies
