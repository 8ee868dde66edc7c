"""What travels between the server and a training process, in forms the server reads safely."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import torch

# A run's control as the server holds it: (paused, stop kind or None, tuning changes or None
# as {"lr": …, "regularization": …, "regularization_rate": …}).
ControlState = tuple[bool, str | None, dict[str, Any] | None]


def pack_tensors(value: object) -> bytes:
    """Nested dicts/lists of tensors and plain values as `torch.save` bytes."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def unpack_tensors(data: bytes) -> Any:
    """The inverse of pack_tensors; weights_only: nothing but tensors and plain values load."""
    return torch.load(io.BytesIO(data), weights_only=True)


def split_message(data: bytes) -> tuple[str, bytes]:
    """A training process's message: (kind, body)."""
    kind, _, body = data.partition(b"\0")
    return kind.decode(), body


def join_message(kind: str, body: bytes) -> bytes:
    """The inverse of split_message."""
    return kind.encode() + b"\0" + body


def fields_of(record: object) -> dict[str, Any]:
    """A dataclass's fields as a dict, values not copied (dataclasses.asdict deep-copies)."""
    return {item.name: getattr(record, item.name) for item in dataclasses.fields(record)}  # type: ignore[arg-type]
