"""Recurrent layers (LSTM, GRU) that read an image row by row and return the last step."""

from torch import nn

from app.nn import specs
from app.nn.errors import LayerError
from app.nn.layers.registry import BuildBlock, InferContext, Inferred, register
from app.nn.modules import RowsRNN
from app.nn.shapes import Shape


def _sequence(spec: specs.LSTM | specs.GRU, shape: Shape) -> tuple[int, int]:
    """Steps and features per step: an image is read row by row."""
    if len(shape) == 1:
        raise LayerError(
            f"needs a sequence (an image, read row by row) but gets a flat vector of {shape[0]} "
            "features; remove the flatten layer before it"
        )
    if len(shape) == 2:
        return shape[0], shape[1]
    return shape[1], shape[0] * shape[2]


def _recurrent_counts(spec: specs.LSTM | specs.GRU, shape: Shape, gates: int) -> Inferred:
    steps, features = _sequence(spec, shape)
    hidden, directions = spec.hidden_size, 1 + spec.bidirectional
    params = macs = 0
    for layer in range(spec.num_layers):
        inputs = features if layer == 0 else hidden * directions
        weights = gates * hidden * (inputs + hidden)
        params += directions * (weights + 2 * gates * hidden)
        macs += directions * steps * weights
    return Inferred((hidden * directions,), params, macs)


def _build_rnn(spec: specs.LSTM | specs.GRU, shape: Shape, _: BuildBlock) -> nn.Module:
    features = _sequence(spec, shape)[1]
    rnn_class = nn.LSTM if isinstance(spec, specs.LSTM) else nn.GRU
    return RowsRNN(
        rnn_class(
            features,
            spec.hidden_size,
            num_layers=spec.num_layers,
            bidirectional=spec.bidirectional,
            batch_first=True,
        )
    )


@register(specs.LSTM, "recurrent", _build_rnn, has_weights=True)
def _infer_lstm(spec: specs.LSTM, shape: Shape, ctx: InferContext) -> Inferred:
    return _recurrent_counts(spec, shape, gates=4)


@register(specs.GRU, "recurrent", _build_rnn, has_weights=True)
def _infer_gru(spec: specs.GRU, shape: Shape, ctx: InferContext) -> Inferred:
    return _recurrent_counts(spec, shape, gates=3)
