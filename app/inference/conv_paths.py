"""What cannot be explained, and a model's conv layers by their spec paths."""

from torch import nn

from app.inference.run_models import RunModel


class ExplainError(ValueError):
    """What cannot be explained; `field` names the request's field at fault ("run_id" when
    the run itself is no classifier of pictures)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def conv_layer(model: RunModel, path: str | None) -> tuple[str, nn.Conv2d]:
    """The conv layer at `path` (None: the last one, for Grad-CAM); ExplainError naming the
    valid paths."""
    if not model.convs and path is None:
        raise ExplainError(
            "method",
            "gradcam needs a conv layer and this model has none: use saliency or "
            "integrated_gradients",
        )
    if not model.convs:
        raise ExplainError("layer", f"'{path}' is no conv layer: this model has none")
    if path is None:
        return model.convs[-1]
    for found in model.convs:
        if found[0] == path:
            return found
    valid = ", ".join(repr(name) for name, _ in model.convs)
    raise ExplainError(
        "layer", f"'{path}' is not a conv layer of this model; its conv layers: {valid}"
    )
