"""What a client sends to be predicted: 28×28 pixels, a canvas image as a data URL, or the
feature values of a sample of a 2-D problem or a CSV dataset."""

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field, model_validator

from app.data.registry import DatasetInfo
from app.imaging import ImageError, decode_data_url, decode_sample, pixels_from_list
from app.imaging.decode import decode_levels
from app.imaging.digit import Placement, place_digit, place_levels

MAX_IMAGE_CHARS = 3_000_000  # a data URL of a 1024×1024 PNG fits
MAX_FEATURES = 4096


class PredictRequest(BaseModel):
    """Exactly one of `pixels` (28×28 numbers in 0..1, white ink on black), `image`, or
    `features` (datasets of numbers)."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"image": "data:image/png;base64,iVBORw0KGgo..."},
                {"pixels": [[0.0] * 28] * 28},
                {"features": [1.5, -2.0]},
            ]
        }
    }

    pixels: list[Any] | None = Field(
        default=None, max_length=784, description="28 rows of 28 numbers in 0..1, or 784 numbers"
    )
    image: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_CHARS,
        description="data:image/png;base64,… of any size up to 1024×1024, either polarity",
    )
    features: list[float] | None = Field(
        default=None,
        max_length=MAX_FEATURES,
        description="a 2-D problem's or a CSV dataset's sample: its input values in the "
        "dataset's column order (GET /api/datasets gives input_shape)",
    )
    prepare: bool = Field(
        default=True,
        description="centre the digit as MNIST does (crop, fit 20×20, centre of mass at 14, 14)",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> "PredictRequest":
        given = [self.pixels is not None, self.image is not None, self.features is not None]
        if sum(given) != 1:
            raise ValueError("send exactly one of 'pixels', 'image' or 'features'")
        return self


def prepared_sample(request: PredictRequest, dataset: DatasetInfo) -> npt.NDArray[np.float32]:
    """The sample a run's model will see: the prepared digit for MNIST, else the image
    stretched to the dataset's (C, H, W), or the features as they are; raises ImageError
    (413/422) for bad input."""
    return placed_sample(request, dataset)[0]


def placed_sample(
    request: PredictRequest, dataset: DatasetInfo
) -> tuple[npt.NDArray[np.float32], Placement | None]:
    """`prepared_sample`, and where a drawing's ink went in the prepared MNIST digit (to map
    the digit's pixels back onto the drawing); None when nothing was moved (another dataset,
    `prepare` off, no ink)."""
    is_image = len(dataset.input_shape) == 3
    if request.features is not None or not is_image:
        return _features(request, dataset), None
    if dataset.name == "mnist":
        return _placed_digit(request)
    channels, height, width = dataset.input_shape
    if request.image is not None:
        return decode_sample(request.image, height, width, channels), None
    if (channels, height, width) != (1, 28, 28):
        raise ImageError(
            f"'pixels' are 28×28 grey; this run's images are {channels}×{height}×{width}: "
            "send an 'image'"
        )
    return pixels_from_list(request.pixels)[None], None  # (1, 28, 28)


def _features(request: PredictRequest, dataset: DatasetInfo) -> npt.NDArray[np.float32]:
    """The feature values of a sample of a dataset of numbers (ImageError if they do not fit)."""
    size = math.prod(dataset.input_shape)
    if len(dataset.input_shape) == 3:
        raise ImageError(f"'{dataset.name}' is a dataset of images: send 'image' or 'pixels'")
    if request.features is None:
        raise ImageError(
            f"this run trains on '{dataset.name}', whose samples are {size} numbers, not "
            f"images: send 'features' with {size} values"
        )
    if len(request.features) != size:
        raise ImageError(
            f"features: '{dataset.name}' samples have {size} values, got {len(request.features)}"
        )
    values = np.asarray(request.features, dtype=np.float32)
    if not np.isfinite(values).all():
        raise ImageError("features: every value must be a finite number")
    return values.reshape(dataset.input_shape)


def _placed_digit(request: PredictRequest) -> tuple[npt.NDArray[np.float32], Placement | None]:
    """The 28×28 digit the model will see, and where the ink went (None with `prepare` off);
    raises ImageError (413/422) for bad input."""
    if request.prepare and request.image is not None:  # a drawing: its 8-bit levels
        return place_levels(decode_levels(request.image))
    gray = (
        pixels_from_list(request.pixels)
        if request.pixels is not None
        else decode_data_url(request.image or "")
    )
    if request.prepare:
        return place_digit(gray)
    if gray.shape != (28, 28):
        raise ImageError(
            f"with prepare off the image must be 28×28, not {gray.shape[1]}×{gray.shape[0]}"
        )
    return gray, None
