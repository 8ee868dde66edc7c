"""The one exception every imaging function raises for bad input."""

from __future__ import annotations


class ImageError(ValueError):
    """The image or pixels are unusable; the message says what is wrong.

    `too_large` is True when the input is over a size limit (the web layer answers 413),
    False for any other problem (422).
    """

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large

    def __reduce__(self) -> tuple[object, ...]:
        """Keep `too_large` when pickled (e.g. across a process pool)."""
        return (_rebuild_image_error, (str(self), self.too_large))


def _rebuild_image_error(message: str, too_large: bool) -> ImageError:
    """Unpickle an ImageError with its keyword-only flag."""
    return ImageError(message, too_large=too_large)
