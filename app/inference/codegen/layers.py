"""One code writer per layer type: a spec (with its summary row) → the PyTorch constructor that
`app.nn` builds for it, written out with every size filled in. Registered like the builders
(`app.nn.layers`), one per type; tests run every registered writer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from app.inference.codegen.source import arguments, call
from app.nn import LayerSummary, specs
from app.nn.layers.block import projection_stride
from app.nn.shapes import pair

# (layers, their summary rows, indent) → the lines of those layers as list elements
WriteBlock = Callable[[Sequence[BaseModel], Sequence[LayerSummary], int], list[str]]


@dataclass
class Context:
    """Where a layer is written: its indent, the helper classes used so far, nested blocks."""

    indent: int
    write_block: WriteBlock
    helpers: set[str] = field(default_factory=set)
    suffix: str = ","  # after the expression: it is an element of nn.Sequential(...)

    def call(self, function: str, args: list[str]) -> list[str]:
        """`function(args)` and the suffix at this indent, split as the formatter splits it."""
        return call(function, args, self.indent, self.suffix)


Writer = Callable[[Any, LayerSummary, Context], list[str]]
LAYER_WRITERS: dict[str, Writer] = {}


def writes(*spec_classes: type[BaseModel]) -> Callable[[Writer], Writer]:
    """Register a writer for these spec types; a second writer for a type is an error."""

    def add(writer: Writer) -> Writer:
        for spec_class in spec_classes:
            name = spec_class.model_fields["type"].default
            if name in LAYER_WRITERS:
                raise ValueError(f"layer type {name!r} has two code writers")
            LAYER_WRITERS[name] = writer
        return writer

    return add


def _changed(spec: BaseModel, *names: str) -> dict[str, Any]:
    """The spec's values of `names` that differ from the spec's defaults, pairs as tuples."""
    fields = type(spec).model_fields
    values = {name: getattr(spec, name) for name in names}
    return {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in values.items()
        if value != fields[name].default
    }


def _same(value: int | tuple[int, int]) -> int | tuple[int, int]:
    """3 for (3, 3): the shorter spelling PyTorch takes alike."""
    first, second = pair(value)
    return first if first == second else (first, second)


@writes(specs.Linear)
def _linear(spec: specs.Linear, row: LayerSummary, ctx: Context) -> list[str]:
    extra = {} if spec.bias else {"bias": False}
    return ctx.call("nn.Linear", arguments(row.input_shape[0], spec.out_features, **extra))


@writes(specs.Conv2d)
def _conv(spec: specs.Conv2d, row: LayerSummary, ctx: Context) -> list[str]:
    options = _changed(spec, "stride", "padding", "dilation", "groups", "bias")
    padding = options.pop("padding", 0)
    if padding not in ("valid", "same") and pair(padding) != (0, 0):
        options["padding"] = _same(padding)
    elif padding == "same":
        options["padding"] = "same"
    options |= {key: _same(options[key]) for key in ("stride", "dilation") if key in options}
    args = arguments(row.input_shape[0], spec.out_channels, kernel_size=_same(spec.kernel_size))
    return ctx.call("nn.Conv2d", args + arguments(**options))


@writes(specs.ConvTranspose2d)
def _conv_transpose(spec: specs.ConvTranspose2d, row: LayerSummary, ctx: Context) -> list[str]:
    names = ("stride", "padding", "output_padding", "groups", "bias", "dilation")
    options = {key: _same(v) if key != "bias" else v for key, v in _changed(spec, *names).items()}
    args = arguments(row.input_shape[0], spec.out_channels, kernel_size=_same(spec.kernel_size))
    return ctx.call("nn.ConvTranspose2d", args + arguments(**options))


@writes(specs.MaxPool2d, specs.AvgPool2d)
def _pool(spec: specs.MaxPool2d | specs.AvgPool2d, row: LayerSummary, ctx: Context) -> list[str]:
    names = [
        n for n in ("padding", "dilation", "ceil_mode", "count_include_pad") if hasattr(spec, n)
    ]
    options = _changed(spec, *names)
    if spec.stride is not None and pair(spec.stride) != pair(spec.kernel_size):
        options = {"stride": _same(spec.stride), **options}
    options = {key: _same(v) if key in {"padding", "dilation"} else v for key, v in options.items()}
    function = "nn.MaxPool2d" if isinstance(spec, specs.MaxPool2d) else "nn.AvgPool2d"
    return ctx.call(function, arguments(_same(spec.kernel_size), **options))


@writes(specs.AdaptiveAvgPool2d)
def _adaptive(spec: specs.AdaptiveAvgPool2d, row: LayerSummary, ctx: Context) -> list[str]:
    return ctx.call("nn.AdaptiveAvgPool2d", arguments(_same(spec.output_size)))


@writes(specs.Flatten)
def _flatten(spec: specs.Flatten, row: LayerSummary, ctx: Context) -> list[str]:
    return ctx.call("nn.Flatten", [])


@writes(specs.Unflatten)
def _unflatten(spec: specs.Unflatten, row: LayerSummary, ctx: Context) -> list[str]:
    return ctx.call("nn.Unflatten", arguments(spec.dim, tuple(spec.sizes)))


@writes(specs.Upsample)
def _upsample(spec: specs.Upsample, row: LayerSummary, ctx: Context) -> list[str]:
    if spec.size is not None:
        options: dict[str, Any] = {"size": _same(spec.size)}
    else:
        scale = pair(spec.scale_factor or 2)
        options = {"scale_factor": float(scale[0]) if scale[0] == scale[1] else scale}
    options["mode"] = spec.mode
    if spec.mode == "bilinear":
        options["align_corners"] = spec.align_corners
    return ctx.call("nn.Upsample", arguments(**options))


@writes(specs.Dropout, specs.Dropout2d)
def _dropout(spec: specs.Dropout | specs.Dropout2d, row: LayerSummary, ctx: Context) -> list[str]:
    function = "nn.Dropout" if isinstance(spec, specs.Dropout) else "nn.Dropout2d"
    return ctx.call(function, arguments(spec.p))


@writes(specs.BatchNorm1d, specs.BatchNorm2d)
def _batchnorm(
    spec: specs.BatchNorm1d | specs.BatchNorm2d, row: LayerSummary, ctx: Context
) -> list[str]:
    function = "nn.BatchNorm1d" if isinstance(spec, specs.BatchNorm1d) else "nn.BatchNorm2d"
    options = _changed(spec, "eps", "momentum", "affine")
    return ctx.call(function, arguments(row.input_shape[0], **options))


@writes(specs.LayerNorm)
def _layernorm(spec: specs.LayerNorm, row: LayerSummary, ctx: Context) -> list[str]:
    options = _changed(spec, "eps", "elementwise_affine")
    return ctx.call("nn.LayerNorm", arguments(list(row.input_shape), **options))


# Activations without arguments, and those with one: type → (class, its argument's field)
_PLAIN = {
    "relu": "ReLU",
    "selu": "SELU",
    "silu": "SiLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "identity": "Identity",
}
_ONE_ARGUMENT = {"leaky_relu": ("LeakyReLU", "negative_slope"), "elu": ("ELU", "alpha")}


@writes(specs.ReLU, specs.SELU, specs.SiLU, specs.Sigmoid, specs.Tanh, specs.Identity)
def _plain(spec: BaseModel, row: LayerSummary, ctx: Context) -> list[str]:
    name = getattr(spec, "type")  # noqa: B009 (every spec has one)
    return ctx.call(f"nn.{_PLAIN[name]}", [])


@writes(specs.LeakyReLU, specs.ELU)
def _one_argument(spec: specs.LeakyReLU | specs.ELU, row: LayerSummary, ctx: Context) -> list[str]:
    class_name, argument = _ONE_ARGUMENT[spec.type]
    return ctx.call(f"nn.{class_name}", arguments(**_changed(spec, argument)))


@writes(specs.GELU)
def _gelu(spec: specs.GELU, row: LayerSummary, ctx: Context) -> list[str]:
    return ctx.call("nn.GELU", arguments(**_changed(spec, "approximate")))


@writes(specs.PReLU)
def _prelu(spec: specs.PReLU, row: LayerSummary, ctx: Context) -> list[str]:
    count = {"num_parameters": row.input_shape[0]} if spec.per_channel else {}
    return ctx.call("nn.PReLU", arguments(**count, **_changed(spec, "init")))


@writes(specs.Softmax, specs.LogSoftmax)
def _softmax(spec: specs.Softmax | specs.LogSoftmax, row: LayerSummary, ctx: Context) -> list[str]:
    function = "nn.Softmax" if isinstance(spec, specs.Softmax) else "nn.LogSoftmax"
    return ctx.call(function, arguments(dim=1))


@writes(specs.Step)
def _step(spec: specs.Step, row: LayerSummary, ctx: Context) -> list[str]:
    ctx.helpers.add("BinaryStep")
    return ctx.call("BinaryStep", [])


@writes(specs.LSTM, specs.GRU)
def _recurrent(spec: specs.LSTM | specs.GRU, row: LayerSummary, ctx: Context) -> list[str]:
    ctx.helpers.add("RowsRNN")
    shape = row.input_shape
    features = shape[1] if len(shape) == 2 else shape[0] * shape[2]
    options = _changed(spec, "num_layers", "bidirectional")
    function = "nn.LSTM" if isinstance(spec, specs.LSTM) else "nn.GRU"
    rnn = call(function, arguments(features, spec.hidden_size, **options, batch_first=True), 0)
    return ctx.call("RowsRNN", ["\n".join(rnn)])


@writes(specs.Residual)
def _residual(spec: specs.Residual, row: LayerSummary, ctx: Context) -> list[str]:
    ctx.helpers.add("Residual")
    pad = "    " * ctx.indent
    inner, outer = row.input_shape, row.output_shape
    lines = [f"{pad}Residual(", f"{pad}    body=nn.Sequential("]
    lines += ctx.write_block(spec.layers, row.children, ctx.indent + 2)
    lines.append(f"{pad}    ),")
    if inner != outer:
        if len(inner) == 1:
            function, args = "projection=nn.Linear", arguments(inner[0], outer[0])
        else:
            stride = _same(projection_stride(inner, outer) or 1)
            strided = {"stride": stride} if stride != 1 else {}
            function = "projection=nn.Conv2d"
            args = arguments(inner[0], outer[0], kernel_size=1, **strided)
        lines += call(function, args, ctx.indent + 1, ",")
    return [*lines, f"{pad}){ctx.suffix}"]
