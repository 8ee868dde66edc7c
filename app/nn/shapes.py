"""Shape arithmetic for one sample (no batch dimension), without making any tensor."""

import math
from dataclasses import dataclass

Shape = tuple[int, ...]


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """`3` → (3, 3); `(3, 5)` stays."""
    return (value, value) if isinstance(value, int) else value


def show(shape: Shape) -> str:
    """(16, 5, 5) → '16×5×5'."""
    return "×".join(str(size) for size in shape)


@dataclass(frozen=True)
class WindowSide:
    """One spatial side of a sliding window (conv or pool): the output-size formula, filled in."""

    size: int
    kernel: int
    stride: int
    padding: int
    dilation: int = 1
    ceil_mode: bool = False

    @property
    def output(self) -> int:
        """⌊(n + 2p − d·(f − 1) − 1)/s⌋ + 1, PyTorch's rule (with ceil_mode's last-window fix)."""
        span = self.size + 2 * self.padding - self.dilation * (self.kernel - 1) - 1
        if span < 0:
            return 0
        rounding = math.ceil if self.ceil_mode else math.floor
        out = int(rounding(span / self.stride)) + 1
        if self.ceil_mode and (out - 1) * self.stride >= self.size + self.padding:
            out -= 1
        return out

    @property
    def formula(self) -> str:
        """The textbook formula with the numbers in, e.g. '⌊(28 + 2·2 − 5)/1⌋ + 1 = 28'."""
        reach = (
            f"{self.kernel}" if self.dilation == 1 else f"{self.dilation}·({self.kernel} − 1) − 1"
        )
        low, high = "⌈⌉" if self.ceil_mode else "⌊⌋"
        return (
            f"{low}({self.size} + 2·{self.padding} − {reach})/{self.stride}{high}"
            f" + 1 = {self.output}"
        )


@dataclass(frozen=True)
class TransposedSide:
    """One spatial side of a transposed conv: the output-size formula, filled in."""

    size: int
    kernel: int
    stride: int
    padding: int
    output_padding: int = 0
    dilation: int = 1

    @property
    def output(self) -> int:
        """(n − 1)·s − 2p + d·(f − 1) + output_padding + 1, PyTorch's rule."""
        reach = self.dilation * (self.kernel - 1) + 1
        return (self.size - 1) * self.stride - 2 * self.padding + reach + self.output_padding

    @property
    def formula(self) -> str:
        """The formula with the numbers in, e.g. '(7 − 1)·2 − 2·1 + 4 + 0 = 14'."""
        reach = (
            f"{self.kernel}" if self.dilation == 1 else f"{self.dilation}·({self.kernel} − 1) + 1"
        )
        return (
            f"({self.size} − 1)·{self.stride} − 2·{self.padding} + {reach} + "
            f"{self.output_padding} = {self.output}".replace("= -", "= −")
        )


def window_formula(height: WindowSide | TransposedSide, width: WindowSide | TransposedSide) -> str:
    """The formula for the height, and for the width too when it differs."""
    if height == width:
        return height.formula
    return f"height {height.formula}; width {width.formula}"
