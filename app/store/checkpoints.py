"""Checkpoints: model weights, optimizer state and metadata in one safetensors file.

Tensors live under ``model/<name>``, ``optim/...`` and ``meta/...`` keys; everything else
(param groups, non-tensor optimizer state, meta) is JSON in the safetensors metadata. Values
that JSON cannot tell apart (tuples, dicts with int keys, tensors) are tagged objects
``{"__nnp__": "tuple" | "dict" | "tensor", ...}``. A SHA-256 of the tensors detects
corruption. Writes are atomic (temporary file, fsync, rename): a reader sees the previous
checkpoint or the new one, never a mix; a write that fails (e.g. a full disk) raises OSError
with its errno and leaves the previous checkpoint as it was. No pickle is ever involved.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load as load_safetensors
from safetensors.torch import save_file
from torch import Tensor

FORMAT_VERSION = "1"
_TAG = "__nnp__"
_MODEL_PREFIX = "model/"
_RUN_ID_PATTERN = re.compile(r"[0-9A-Za-z]{1,64}")
_HEADER_SIZE_BYTES = 8
_OS_ERROR = re.compile(r"\(os error (\d+)\)")  # how safetensors reports an I/O error
_PARTIAL_SUFFIX = ".tmp"


class CheckpointError(Exception):
    """A checkpoint file is missing, truncated, corrupted or not ours."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What load_checkpoint returns; ``optimizer_state`` fits ``Optimizer.load_state_dict``."""

    model_state: dict[str, Tensor]
    optimizer_state: dict[str, Any] | None
    meta: dict[str, Any]


def checkpoint_dir(data_dir: Path | str, run_id: str) -> Path:
    """``<data_dir>/checkpoints/<run_id>``; the run id must be 1-64 letters or digits."""
    if not isinstance(run_id, str) or not _RUN_ID_PATTERN.fullmatch(run_id):
        raise ValueError(f"invalid run id {run_id!r}")
    return Path(data_dir) / "checkpoints" / run_id


def _detached_cpu_copy(tensor: Tensor, where: str) -> Tensor:
    """A contiguous CPU copy that shares memory with nothing (safetensors refuses aliases)."""
    if tensor.layout != torch.strided:
        raise TypeError(f"{where}: only dense tensors can be saved, got {tensor.layout}")
    return tensor.detach().to(device="cpu", memory_format=torch.contiguous_format, copy=True)


def _unique_key(key: str, tensors: Mapping[str, Tensor]) -> str:
    candidate, n = key, 1
    while candidate in tensors:
        candidate, n = f"{key}#{n}", n + 1
    return candidate


def _encode(value: object, path: str, tensors: dict[str, Tensor]) -> Any:
    """Turn a state tree into JSON-able data, moving its tensors into ``tensors``."""
    if isinstance(value, Tensor):
        key = _unique_key(path, tensors)
        tensors[key] = _detached_cpu_copy(value, path)
        return {_TAG: "tensor", "key": key}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple):
        items = [_encode(item, f"{path}/{i}", tensors) for i, item in enumerate(value)]
        return {_TAG: "tuple", "items": items}
    if isinstance(value, list):
        return [_encode(item, f"{path}/{i}", tensors) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        if all(isinstance(key, str) for key in value) and _TAG not in value:
            return {key: _encode(item, f"{path}/{key}", tensors) for key, item in value.items()}
        pairs = []
        for key, item in value.items():
            if not (key is None or isinstance(key, bool | int | float | str)):
                raise TypeError(f"{path}: unsupported dict key {key!r}")
            pairs.append([key, _encode(item, f"{path}/{key}", tensors)])
        return {_TAG: "dict", "items": pairs}
    raise TypeError(f"{path}: cannot save a value of type {type(value).__name__}")


def _decode(value: Any, tensors: Mapping[str, Tensor]) -> Any:
    """Inverse of _encode."""
    if isinstance(value, list):
        return [_decode(item, tensors) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {key: _decode(item, tensors) for key, item in value.items()}
    if tag == "tensor":
        key = value.get("key")
        if not isinstance(key, str) or key not in tensors:
            raise CheckpointError(f"checkpoint lacks tensor {key!r}")
        return tensors[key]
    if tag == "tuple":
        return tuple(_decode(item, tensors) for item in value["items"])
    if tag == "dict":
        return {key: _decode(item, tensors) for key, item in value["items"]}
    raise CheckpointError(f"unknown tag {tag!r} in checkpoint")


def _digest(tensors: Mapping[str, Tensor]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of contiguous CPU tensors."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        tensor = tensors[key]
        digest.update(f"{key}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


def _fsync_path(path: Path | str, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:  # not every platform can open a directory (Windows); best effort
            return
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(
    path: Path | str,
    model_state: Mapping[str, Tensor],
    optimizer_state: Mapping[str, Any] | None,
    meta: Mapping[str, object],
) -> None:
    """Atomically write (or replace) the checkpoint at ``path``.

    ``optimizer_state`` is an ``Optimizer.state_dict()`` (or None); ``meta`` holds JSON-like
    values, tuples and tensors (e.g. epoch, step, last event seq, RNG state).
    """
    path = Path(path)
    tensors: dict[str, Tensor] = {}
    for name, tensor in model_state.items():
        if not isinstance(tensor, Tensor):
            raise TypeError(f"model state {name!r} is not a tensor")
        tensors[_MODEL_PREFIX + name] = _detached_cpu_copy(tensor, name)
    optimizer_json = json.dumps(
        None if optimizer_state is None else _encode(optimizer_state, "optim", tensors)
    )
    meta_json = json.dumps(_encode(dict(meta), "meta", tensors))
    metadata = {
        "format": "pt",
        "nnp.version": FORMAT_VERSION,
        "nnp.model_keys": json.dumps(list(model_state)),
        "nnp.optimizer": optimizer_json,
        "nnp.meta": meta_json,
        "nnp.sha256": _digest(tensors),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=_PARTIAL_SUFFIX
    )
    os.close(fd)
    try:
        _save_file(tensors, tmp_name, metadata)
        _fsync_path(tmp_name)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_path(path.parent, directory=True)


def _save_file(tensors: dict[str, Tensor], name: str, metadata: dict[str, str]) -> None:
    """safetensors' save_file, with its I/O errors raised as OSError (errno kept)."""
    try:
        save_file(tensors, name, metadata=metadata)
    except OSError:
        raise
    except Exception as error:  # SafetensorError("… I/O error: … (os error 28)")
        found = _OS_ERROR.search(str(error))
        if found is None:
            raise
        code = int(found.group(1))
        raise OSError(code, os.strerror(code), name) from error


def remove_partial_checkpoints(data_dir: Path | str) -> int:
    """Delete temporary files left by writes a dead process never finished; returns how many."""
    removed = 0
    for partial in (Path(data_dir) / "checkpoints").glob(f"*/.*{_PARTIAL_SUFFIX}"):
        with contextlib.suppress(OSError):
            partial.unlink()
            removed += 1
    return removed


def _read_metadata(data: bytes, path: Path) -> dict[str, str]:
    if len(data) < _HEADER_SIZE_BYTES:
        raise CheckpointError(f"{path} is truncated")
    header_size = int.from_bytes(data[:_HEADER_SIZE_BYTES], "little")
    if _HEADER_SIZE_BYTES + header_size > len(data):
        raise CheckpointError(f"{path} is truncated")
    try:
        header = json.loads(data[_HEADER_SIZE_BYTES : _HEADER_SIZE_BYTES + header_size])
    except (UnicodeDecodeError, ValueError) as error:
        raise CheckpointError(f"{path} has a corrupted header") from error
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or metadata.get("nnp.version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} is not an NN Playground checkpoint (version {FORMAT_VERSION})"
        )
    return metadata


def load_model_state(path: Path | str) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Only the weights and the meta of a checkpoint, read from its memory map without the
    optimizer state or the checksum (for reading many epochs' weights quickly); raises
    CheckpointError if the file cannot be read."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as file:
            metadata = file.metadata() or {}
            if metadata.get("nnp.version") != FORMAT_VERSION:
                raise CheckpointError(f"{path} is not an NN Playground checkpoint")
            names = json.loads(metadata["nnp.model_keys"])
            state = {name: file.get_tensor(_MODEL_PREFIX + name) for name in names}
            meta = json.loads(metadata["nnp.meta"])
    except CheckpointError:
        raise
    except Exception as error:  # OSError, SafetensorError, a bad key or JSON
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from error
    plain = {k: v for k, v in meta.items() if not isinstance(v, dict | list)}
    return state, plain


def load_checkpoint(path: Path | str, device: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint written by save_checkpoint; tensors land on ``device``.

    Raises CheckpointError if the file is missing, truncated, corrupted or foreign.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from error
    metadata = _read_metadata(data, path)
    try:
        tensors = load_safetensors(data)
    except Exception as error:  # safetensors raises its own SafetensorError and others
        raise CheckpointError(f"{path} is corrupted: {error}") from error
    if _digest(tensors) != metadata.get("nnp.sha256"):
        raise CheckpointError(f"{path} is corrupted: checksum mismatch")
    if torch.device(device) != torch.device("cpu"):
        tensors = {key: tensor.to(device) for key, tensor in tensors.items()}
    try:
        model_keys = json.loads(metadata["nnp.model_keys"])
        model_state = {name: tensors[_MODEL_PREFIX + name] for name in model_keys}
        optimizer_state = _decode(json.loads(metadata["nnp.optimizer"]), tensors)
        meta = _decode(json.loads(metadata["nnp.meta"]), tensors)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path} has inconsistent metadata: {error!r}") from error
    if not isinstance(meta, dict) or not (
        optimizer_state is None or isinstance(optimizer_state, dict)
    ):
        raise CheckpointError(f"{path} has inconsistent metadata")
    return Checkpoint(model_state=model_state, optimizer_state=optimizer_state, meta=meta)
