"""Validate a 28×28 grid of pixels sent as JSON numbers."""

from __future__ import annotations

import math
import numbers

import numpy as np
import numpy.typing as npt

from app.imaging.errors import ImageError

SIDE = 28
COUNT = SIDE * SIDE


def pixels_from_list(values: object) -> npt.NDArray[np.float32]:
    """Validate 28 rows of 28 (or a flat list of 784) finite numbers in 0..1 → float32 (28, 28).

    Raises ImageError naming the count, or the row and column of the first bad pixel.
    """
    if isinstance(values, np.ndarray):
        values = values.tolist()
    fast = _plain_grid(values)
    if fast is not None:
        return fast
    if not isinstance(values, list | tuple):
        raise ImageError(
            f"pixels must be a list of {SIDE} rows of {SIDE} numbers, not {_kind(values)}"
        )
    if len(values) == COUNT:
        grid = np.empty(COUNT, dtype=np.float32)
        for index, value in enumerate(values):
            grid[index] = _pixel(value, f"pixels[{index}]")
        return grid.reshape(SIDE, SIDE)
    if len(values) != SIDE:
        raise ImageError(
            f"pixels has {len(values)} entries; expected {SIDE} rows of {SIDE} numbers "
            f"or a flat list of {COUNT}"
        )
    grid = np.empty((SIDE, SIDE), dtype=np.float32)
    for row_index, row in enumerate(values):
        if not isinstance(row, list | tuple):
            raise ImageError(f"pixels[{row_index}] is {_kind(row)}; expected a row of {SIDE}")
        if len(row) != SIDE:
            raise ImageError(f"pixels[{row_index}] has {len(row)} numbers; expected {SIDE}")
        for column_index, value in enumerate(row):
            grid[row_index, column_index] = _pixel(value, f"pixels[{row_index}][{column_index}]")
    return grid


def _plain_grid(values: object) -> npt.NDArray[np.float32] | None:
    """The common case in one vectorised pass: well-formed plain numbers in 0..1; else None,
    and the careful path below finds and names the problem."""
    if not isinstance(values, list) or len(values) not in (SIDE, COUNT):
        return None
    rows = values if len(values) == SIDE else [values]
    width = SIDE if len(values) == SIDE else COUNT
    for row in rows:
        if type(row) is not list or len(row) != width:
            return None
        if not all(type(value) is float or type(value) is int for value in row):
            return None  # bools, strings, None, nested lists: the careful path names them
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            grid = np.asarray(rows, dtype=np.float64)
    except OverflowError:  # an int beyond float range
        return None
    if not (np.isfinite(grid).all() and grid.min() >= 0.0 and grid.max() <= 1.0):
        return None
    return grid.astype(np.float32).reshape(SIDE, SIDE)


def _pixel(value: object, where: str) -> float:
    """One pixel as a float in 0..1, or ImageError saying where and what is wrong."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ImageError(f"{where} is {_kind(value)}; expected a number in 0..1")
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        raise ImageError(f"{where} is {value!r:.40}; expected a number in 0..1") from None
    if not math.isfinite(number):
        raise ImageError(f"{where} is {number}; expected a finite number in 0..1")
    if not 0.0 <= number <= 1.0:
        raise ImageError(f"{where} is {number:g}; expected a number in 0..1")
    return number


def _kind(value: object) -> str:
    """How an unexpected value reads in a message: 'a string', 'true', 'null'..."""
    if value is None:
        return "null"
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"a string ({value!r:.40})"
    return f"a {type(value).__name__}"
