"""Settings of the whole app, read from NNP_* environment variables."""

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from app.data.upload_checks import UploadLimits
    from app.nn.limits import SpecLimits


class Settings(BaseSettings):
    """One object for every setting; tests build their own."""

    model_config = SettingsConfigDict(env_prefix="NNP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("data")
    mnist_dir: Path | None = Field(
        default=None,
        description="where mnist.safetensors is looked for first; then data_dir, the "
        "checkout's data/ and the user cache (~/.cache/nn-playground)",
    )
    fashion_mnist_dir: Path | None = Field(
        default=None,
        description="set-up: where Fashion-MNIST's four IDX .gz files are (default: Debian's "
        "/usr/share/datasets/fashion-mnist)",
    )
    cache_home: Path | None = Field(
        default=None,
        validation_alias="XDG_CACHE_HOME",
        description="the user's cache directory (XDG_CACHE_HOME); MNIST is looked for in its "
        "nn-playground folder, else in ~/.cache/nn-playground",
    )
    device: str = Field(default="auto", description="auto, cpu, cuda, cuda:N or mps")
    device_concurrency: int = Field(
        default=1, ge=1, le=16, description="runs trained at the same time on one device"
    )
    torch_threads: int = Field(
        default=0,
        ge=0,
        le=256,
        description="CPU threads for PyTorch; 0: all cores but one when serving, "
        "every core for the train command and benchmarks",
    )
    training_process: bool = Field(
        default=True,
        description="train runs in a separate process per device slot (so web requests never "
        "hold the trainer's GIL); false: in a thread of the server process",
    )
    executor: Literal["local", "ray"] = Field(
        default="local",
        description="what trains the runs: local (this machine's training processes) or ray "
        "(actors on a Ray cluster; needs the ray extra)",
    )
    ray_address: str = Field(
        default="",
        description="the Ray cluster to use: auto, ray://host:10001, host:6379, or empty to "
        "start a local Ray instance inside the server",
    )
    ray_gpus_per_run: float = Field(
        default=1.0, gt=0, le=8, description="GPUs a run asks Ray for (a fraction shares one)"
    )
    ray_cpus_per_run: float = Field(default=1.0, gt=0, le=64, description="CPUs a run asks Ray for")
    ray_resources_per_run: dict[str, float] = Field(
        default_factory=dict,
        description='custom Ray resources a run asks for, as JSON (e.g. {"gpu_slot": 1})',
    )
    ray_slots: int = Field(
        default=0,
        ge=0,
        le=4096,
        description="runs trained at once on the cluster; 0: as many as its resources allow",
    )
    ray_device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto",
        description="the device runs train on in Ray: auto is cuda when the cluster has GPUs",
    )
    ray_connect_seconds: float = Field(
        default=30.0, gt=0, le=600, description="how long to wait for the Ray cluster at start-up"
    )
    warm_training_process: bool = Field(
        default=True,
        description="start a training process (and load MNIST in it) when the server starts, "
        "so the first run trains at once instead of after the process's start-up",
    )
    starter_run: bool = Field(
        default=True,
        description="at the first start on a data directory without runs, train a LeNet-5 in "
        "the background so the Draw page works on the first visit",
    )
    max_body_bytes: int = Field(
        default=4_000_000, ge=1024, description="largest request body; larger ones get 413"
    )
    max_upload_bytes: int = Field(
        default=50_000_000, ge=1024, le=2_000_000_000, description="largest dataset upload file"
    )
    max_upload_classes: int = Field(
        default=100, ge=2, le=1000, description="most classes an uploaded dataset may have"
    )
    shared_mode: bool | None = Field(
        default=None,
        description="each browser gets its own identity and sees only its own work; "
        "default: on when `host` is not a loopback address",
    )
    access_token: SecretStr | None = Field(
        default=None, description="in shared mode, the token people enter once to join"
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="GET /metrics (Prometheus) wants `Authorization: Bearer` this token; unset: "
        "/metrics is open in single-user mode and off (404) in shared mode",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="signs identity cookies; default: a random key kept in data_dir/secret_key",
    )
    max_active_runs_per_user: int = Field(
        default=5, ge=1, description="queued + running runs one user may have; more get 429"
    )
    max_epochs: int = Field(default=50, ge=1, le=200, description="most epochs one run may train")
    epoch_checkpoints: int = Field(
        default=20,
        ge=3,
        le=1000,
        description="epoch checkpoints one run keeps (to branch from, for the time strip); over "
        "the cap the closest-spaced go, never the first, the best or the newest",
    )
    rate_limit_per_minute: int = Field(
        default=1200, ge=0, description="requests one user may make per minute; 0: no limit"
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="other sites allowed to call the API; none by default"
    )
    max_layers: int = Field(default=64, ge=1)
    max_params: int = Field(default=20_000_000, ge=1)
    max_kernel_size: int = Field(default=11, ge=1)
    max_nesting: int = Field(default=4, ge=1)

    @field_validator("access_token", "metrics_token", "secret_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        """An empty variable (e.g. compose's `${NNP_ACCESS_TOKEN:-}`) means: not set."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cors_origins")
    @classmethod
    def _plain_origins(cls, origins: list[str]) -> list[str]:
        """`scheme://host[:port]`, lower case, no trailing slash: as browsers send `Origin`."""
        plain = []
        for origin in origins:
            parts = urlsplit(origin.rstrip("/"))
            bad = parts.path or parts.query or parts.fragment or "@" in parts.netloc
            if parts.scheme not in ("http", "https") or not parts.netloc or bad:
                raise ValueError(
                    f"cors_origins: {origin!r} is not an origin like https://example.org "
                    "(a scheme and a host, no path; '*' is not allowed)"
                )
            plain.append(f"{parts.scheme}://{parts.netloc.lower()}")
        return plain

    def is_shared(self) -> bool:
        """Whether people get separate identities (explicit, else: not served on loopback)."""
        if self.shared_mode is not None:
            return self.shared_mode
        return not _is_loopback(self.host)

    def mnist_cache_dir(self) -> Path:
        """The directory holding mnist.safetensors: the first of mnist_dir, data_dir, the
        checkout's data/ and the user cache that has it; raises MnistNotFoundError if none does.
        """
        from app.data.locate import find_mnist_dir  # noqa: PLC0415 (torch loads only when used)

        return find_mnist_dir(self.mnist_dir, self.data_dir, self.cache_home)

    def dataset_dirs(self) -> list[Path]:
        """Where prepared datasets are looked for, in order (as MNIST is, see mnist_cache_dir)."""
        from app.data.locate import mnist_search_dirs  # noqa: PLC0415

        return mnist_search_dirs(self.mnist_dir, self.data_dir, self.cache_home)

    def upload_limits(self) -> "UploadLimits":
        """The limits an uploaded dataset must meet."""
        from app.data.upload_checks import UploadLimits  # noqa: PLC0415

        return UploadLimits(
            max_upload_bytes=self.max_upload_bytes, max_classes=self.max_upload_classes
        )

    def spec_limits(self) -> "SpecLimits":
        """The model-size limits for app.nn."""
        from app.nn.limits import SpecLimits  # noqa: PLC0415 (keeps settings import-light)

        return SpecLimits(
            max_layers=self.max_layers,
            max_params=self.max_params,
            max_kernel_size=self.max_kernel_size,
            max_nesting=self.max_nesting,
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name or 0.0.0.0-like wildcard: reachable by others
