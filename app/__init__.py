"""NN Playground: build PyTorch networks from JSON specs, train them on MNIST, watch them learn."""

__version__ = "0.1.0"
