"""Where MNIST is found: NNP_MNIST_DIR, the data dir, the checkout's data/, the user cache."""

from pathlib import Path

import pytest

from app.data import MnistNotFoundError, cache_path, locate
from app.data.fetch import main as fetch_main
from app.data.mnist import CACHE_SIZE
from app.settings import Settings


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Empty stand-ins for NNP_MNIST_DIR, the data dir, the checkout's data/ and the user cache."""
    monkeypatch.setattr(locate, "CHECKOUT_DATA_DIR", tmp_path / "checkout" / "data")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("NNP_MNIST_DIR", "NNP_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    return {
        "mnist_dir": tmp_path / "mnist",
        "data_dir": tmp_path / "data",
        "checkout": tmp_path / "checkout" / "data",
        "user_cache": tmp_path / "xdg" / "nn-playground",
    }


def _fake_cache(directory: Path, size: int = CACHE_SIZE) -> None:
    """A cache file of `size` bytes (sparse: nothing is really written)."""
    directory.mkdir(parents=True, exist_ok=True)
    with cache_path(directory).open("wb") as file:
        file.truncate(size)


def test_the_first_place_holding_the_cache_wins_in_the_documented_order(
    places: dict[str, Path],
) -> None:
    settings = Settings(mnist_dir=places["mnist_dir"], data_dir=places["data_dir"])
    order = ["mnist_dir", "data_dir", "checkout", "user_cache"]
    for name in order:
        _fake_cache(places[name])
    for name in order:
        assert settings.mnist_cache_dir() == places[name]
        cache_path(places[name]).unlink()
    with pytest.raises(MnistNotFoundError) as caught:
        settings.mnist_cache_dir()
    message = str(caught.value)
    assert "\n" not in message
    assert ", ".join(str(places[name]) for name in order) in message  # where it looked, in order
    assert "make run" in message and ".venv/bin/python -m app.data.fetch" in message


def test_without_nnp_mnist_dir_the_data_dir_comes_first(places: dict[str, Path]) -> None:
    _fake_cache(places["data_dir"])
    _fake_cache(places["checkout"])
    assert Settings(data_dir=places["data_dir"]).mnist_cache_dir() == places["data_dir"]


def test_a_cache_of_the_wrong_size_is_passed_over(places: dict[str, Path]) -> None:
    _fake_cache(places["data_dir"], size=CACHE_SIZE - 1)  # e.g. a download cut short
    _fake_cache(places["checkout"])
    assert Settings(data_dir=places["data_dir"]).mnist_cache_dir() == places["checkout"]


def test_a_relative_data_dir_is_the_working_directorys_and_listed_once(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    places["checkout"].parent.mkdir()
    monkeypatch.chdir(places["checkout"].parent)
    settings = Settings(data_dir=Path("data"))  # the default, seen from the checkout
    assert locate.mnist_search_dirs(None, settings.data_dir, settings.cache_home) == [
        places["checkout"],
        places["user_cache"],
    ]
    _fake_cache(places["checkout"])
    assert settings.mnist_cache_dir() == places["checkout"]


def test_the_user_cache_is_under_home_unless_xdg_cache_home_is_absolute(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert locate.user_cache_dir(Settings().cache_home) == places["user_cache"]
    monkeypatch.delenv("XDG_CACHE_HOME")
    home_cache = tmp_path / "home" / ".cache" / "nn-playground"
    assert locate.user_cache_dir(Settings().cache_home) == home_cache
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid by the XDG spec: ignored
    assert locate.user_cache_dir(Settings().cache_home) == home_cache


def test_set_up_fills_nnp_mnist_dir_else_the_checkout_never_the_data_dir(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    filled: list[Path] = []

    def ensure_mnist(data_dir: Path) -> Path:
        filled.append(data_dir)
        return cache_path(data_dir)

    monkeypatch.setattr("app.data.fetch.ensure_mnist", ensure_mnist)
    monkeypatch.setenv("NNP_DATA_DIR", str(places["data_dir"]))
    assert fetch_main([]) == 0
    monkeypatch.setenv("NNP_MNIST_DIR", str(places["mnist_dir"]))
    assert fetch_main([]) == 0
    assert filled == [places["checkout"], places["mnist_dir"]]
