"""The few modules PyTorch lacks: binary step, residual block, and an RNN that reads image rows."""

import torch
from torch import nn


class BinaryStep(nn.Module):
    """1 where x > 0, else 0; its gradient is exactly zero, which is why it cannot learn."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # `+ 0·x` keeps the graph connected, so backward runs and every gradient before it is 0.
        return (x > 0).to(x.dtype) + x * 0.0


class Residual(nn.Module):
    """y = body(x) + projection(x); the projection is the identity when shapes already match."""

    def __init__(self, body: nn.Sequential, projection: nn.Module | None) -> None:
        super().__init__()
        self.body = body
        self.projection = projection if projection is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(x) + self.projection(x)
        return out


class RowsRNN(nn.Module):
    """Runs an LSTM or GRU over the rows of an image and returns the output of the last step."""

    def __init__(self, rnn: nn.LSTM | nn.GRU) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:  # (B, C, H, W) → (B, H, C·W): one step per row
            x = x.permute(0, 2, 1, 3).flatten(2)
        steps: torch.Tensor = self.rnn(x)[0]  # (B, T, hidden·directions)
        return steps[:, -1]  # (B, hidden·directions)
