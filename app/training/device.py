"""Which device trains, and how many CPU threads PyTorch may use."""

from __future__ import annotations

import os
from typing import Literal

import torch


class DeviceError(ValueError):
    """The requested device does not exist on this machine."""


def resolve_device(name: str = "auto") -> torch.device:
    """ "auto" → cuda if available, else mps, else cpu; a named device must exist."""
    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(
            f"device: unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("device: cuda is not available on this machine; use auto or cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device: {name} does not exist; this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("device: mps is not available on this machine; use auto or cpu")
    elif device.type not in {"cpu", "cuda", "mps"}:
        raise DeviceError(f"device: {name!r} is not supported; use auto, cpu, cuda or mps")
    return device


# Who trains: `serve` (beside a web server) or `headless` (the train command, benchmarks).
ThreadRole = Literal["serve", "headless"]


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least one."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def default_thread_count(role: ThreadRole) -> int:
    """PyTorch's CPU threads when none are asked for: every core, except that `serve` keeps one.

    A headless run has the machine to itself. Beside a web server, measured on a 2-core
    machine: with two OpenMP threads, anything else running made training up to 7× slower;
    with one, it stays steady.
    """
    cores = available_cores()
    return cores if role == "headless" else max(1, cores - 1)


def configure_threads(threads: int = 0, *, role: ThreadRole = "serve") -> int:
    """Set PyTorch's intra-op thread count (0 = the role's default); returns it.

    The setting is process-wide: every CPU run and the benchmark share it.
    """
    count = threads if threads > 0 else default_thread_count(role)
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count
