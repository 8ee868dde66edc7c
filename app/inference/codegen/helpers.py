"""The plain-PyTorch helpers an exported script defines when its model needs them, by name.

Each is the source text of a class or function, written in the formatter's style; the module
names and attribute names match `app.nn.modules`, so the playground's weights load unchanged.
"""

BINARY_STEP = '''
class BinaryStep(nn.Module):
    """1 where x > 0, else 0; its gradient is zero, which is why nothing before it learns."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > 0).to(x.dtype) + x * 0.0  # `+ 0·x` keeps the graph connected
'''

RESIDUAL = '''
class Residual(nn.Module):
    """y = body(x) + projection(x); the projection is the identity when shapes match."""

    def __init__(
        self, body: nn.Sequential, projection: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.body = body
        self.projection = projection if projection is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.projection(x)
'''

ROWS_RNN = '''
class RowsRNN(nn.Module):
    """Runs an LSTM or GRU over the rows of an image; returns the last step's output."""

    def __init__(self, rnn: nn.LSTM | nn.GRU) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:  # (B, C, H, W) -> (B, H, C * W): one step per row
            x = x.permute(0, 2, 1, 3).flatten(2)
        return self.rnn(x)[0][:, -1]  # (B, hidden * directions)
'''

INITIALISE = '''
def initialise(module: nn.Module, scheme: str, nonlinearity: str, std: float) -> None:
    """Re-draw a layer's weights with `scheme` and zero its biases (as the playground does).

    A transposed conv stores its weight as (in, out, kH, kW), so kaiming uses fan_out for it.
    """
    mode = "fan_out" if isinstance(module, nn.ConvTranspose2d) else "fan_in"
    gain = nn.init.calculate_gain(nonlinearity)
    draw = {
        "xavier_uniform": lambda w: nn.init.xavier_uniform_(w, gain),
        "xavier_normal": lambda w: nn.init.xavier_normal_(w, gain),
        "kaiming_uniform": lambda w: nn.init.kaiming_uniform_(
            w, mode=mode, nonlinearity=nonlinearity
        ),
        "kaiming_normal": lambda w: nn.init.kaiming_normal_(
            w, mode=mode, nonlinearity=nonlinearity
        ),
        "normal": lambda w: nn.init.normal_(w, 0.0, std),
        "zeros": nn.init.zeros_,
    }[scheme]
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "bias" in name or parameter.dim() < 2:
                parameter.zero_()
            else:
                draw(parameter)
'''

READ_MNIST = '''
class _Array:
    """Stands in for numpy.ndarray while unpickling: keeps the shape, dtype and raw bytes."""

    def __setstate__(self, state: tuple) -> None:
        _, self.shape, self.dtype, _, data = state
        self.data = data.encode("latin1") if isinstance(data, str) else bytes(data)

    def tensor(self) -> torch.Tensor:
        dtype = {"f4": torch.float32, "i8": torch.int64}[self.dtype.code]
        return torch.frombuffer(bytearray(self.data), dtype=dtype).reshape(self.shape)


class _DType:
    """Stands in for numpy.dtype: only the type code ("f4", "i8") is kept."""

    def __init__(self, code: str, align: bool = False, copy: bool = False) -> None:
        self.code = code

    def __setstate__(self, state: tuple) -> None:
        if state[1] == ">":
            raise pickle.UnpicklingError("big-endian arrays are not supported")


def _reconstruct(cls: type, shape: tuple, dtype_code: bytes) -> _Array:
    return _Array()


_ALLOWED = {  # what a pickled array names, and its stand-in
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _Array,
    ("numpy", "dtype"): _DType,
}


class MnistUnpickler(pickle.Unpickler):
    """Resolves the three numpy names a pickled array needs, to stand-ins; nothing else."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed here")
        return _ALLOWED[(module, name)]


def read_mnist(path: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """mnist.pkl.gz (train, validation, test) -> [(images (N, 28, 28) in 0..1, labels (N,))].

    The pickle stores pixel bytes as byte / 256; the playground trains on byte / 255.
    """
    with gzip.open(path, "rb") as stream:
        splits = MnistUnpickler(stream, encoding="latin1").load()
    data = []
    for pixels, labels in splits:
        levels = (pixels.tensor() * 256).round()
        data.append((levels.reshape(-1, 28, 28) / 255, labels.tensor()))
    return data
'''

HELPERS = {
    "BinaryStep": BINARY_STEP,
    "Residual": RESIDUAL,
    "RowsRNN": ROWS_RNN,
    "initialise": INITIALISE,
    "read_mnist": READ_MNIST,
}
