"""Checks on a layer's input and output shapes, each raising a LayerError that says what to do."""

from app.nn.errors import LayerError
from app.nn.limits import SpecLimits
from app.nn.shapes import Shape, WindowSide, show


def image(shape: Shape, layer: str) -> tuple[int, int, int]:
    """The C, H, W of an image input, or an error saying what to change."""
    if len(shape) == 3:
        return shape[0], shape[1], shape[2]
    if len(shape) == 1:
        raise LayerError(
            f"{layer} needs a channels×height×width image but gets a flat vector of "
            f"{shape[0]} features; put it before the flatten layer"
        )
    raise LayerError(
        f"{layer} needs a channels×height×width image but gets {show(shape)}; "
        f"set input_shape to [1, {shape[0]}, {shape[1]}]"
    )


def features(shape: Shape, layer: str) -> int:
    """The feature count of a flat input, or an error saying to flatten first."""
    if len(shape) != 1:
        raise LayerError(f"{layer} gets a {show(shape)} input; put a flatten layer before it")
    return shape[0]


def check_kernel(kernel: tuple[int, int], limits: SpecLimits, name: str = "kernel_size") -> None:
    """Refuse a window larger than the limits allow."""
    if max(kernel) > limits.max_kernel_size:
        raise LayerError(
            f"{show(kernel)} is larger than the limit of {limits.max_kernel_size}; "
            "use a smaller kernel (stack two small ones to see further)",
            name,
        )


def check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    """Both channel counts of a grouped convolution must split evenly into the groups."""
    for count, name in ((in_channels, "input channels"), (out_channels, "out_channels")):
        if count % groups:
            raise LayerError(f"{name} ({count}) must be divisible by groups", "groups")


def check_side(size: tuple[int, int], limits: SpecLimits, field: str) -> None:
    """Refuse an enlarged image whose height or width passes the limit."""
    if max(size) > limits.max_side:
        raise LayerError(
            f"the output would be {show(size)}, larger than the limit of {limits.max_side} a "
            f"side; enlarge less here or pool before it",
            field,
        )


def windows(
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
    ceil_mode: bool = False,
) -> tuple[WindowSide, WindowSide]:
    """The height and width of a sliding window's output, or an error if it collapses."""
    height, width = (
        WindowSide(size[i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
        for i in range(2)
    )
    if height.output < 1 or width.output < 1:
        raise LayerError(
            f"the output collapses to {max(height.output, 0)}×{max(width.output, 0)}: a "
            f"{show(kernel)} window does not fit the {show(size)} input with padding "
            f"{show(padding)}; remove a pooling or stride before it, add padding, or use a "
            "smaller kernel",
            "kernel_size",
        )
    return height, width
