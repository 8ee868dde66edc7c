"""Settings of the whole app, read from NNP_* environment variables."""

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from app.nn.limits import SpecLimits


class Settings(BaseSettings):
    """One object for every setting; tests build their own."""

    model_config = SettingsConfigDict(env_prefix="NNP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("data")
    mnist_dir: Path | None = Field(
        default=None, description="where mnist.safetensors is read from; default: data_dir"
    )
    device: str = Field(default="auto", description="auto, cpu, cuda, cuda:N or mps")
    device_concurrency: int = Field(
        default=1, ge=1, le=16, description="runs trained at the same time on one device"
    )
    torch_threads: int = Field(
        default=0, ge=0, le=256, description="CPU threads for PyTorch; 0: all cores but one"
    )
    max_body_bytes: int = Field(
        default=4_000_000, ge=1024, description="largest request body; larger ones get 413"
    )
    max_active_runs_per_client: int = Field(
        default=5, ge=1, description="queued + running runs one client may have; more get 429"
    )
    max_layers: int = Field(default=64, ge=1)
    max_params: int = Field(default=20_000_000, ge=1)
    max_kernel_size: int = Field(default=11, ge=1)
    max_nesting: int = Field(default=4, ge=1)

    def mnist_cache_dir(self) -> Path:
        """The directory holding mnist.safetensors: mnist_dir if set, else data_dir."""
        return self.mnist_dir if self.mnist_dir is not None else self.data_dir

    def spec_limits(self) -> "SpecLimits":
        """The model-size limits for app.nn."""
        from app.nn.limits import SpecLimits  # noqa: PLC0415 (keeps settings import-light)

        return SpecLimits(
            max_layers=self.max_layers,
            max_params=self.max_params,
            max_kernel_size=self.max_kernel_size,
            max_nesting=self.max_nesting,
        )
