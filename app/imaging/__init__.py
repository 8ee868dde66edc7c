"""From what a person drew (a data URL or a pixel grid) to the 28×28 input an MNIST model expects.

Web-free: numpy, Pillow and torch only. Every problem with the input raises ImageError.
"""

from app.imaging.decode import decode_data_url, decode_sample
from app.imaging.digit import prepare_digit, prepare_input
from app.imaging.errors import ImageError
from app.imaging.pixels import pixels_from_list

__all__ = [
    "ImageError",
    "decode_data_url",
    "decode_sample",
    "pixels_from_list",
    "prepare_digit",
    "prepare_input",
]
