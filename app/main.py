"""The FastAPI application factory; nothing heavy happens at import time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app import __version__
from app.api import health, layers, models, pages
from app.api.errors import install_error_handlers
from app.settings import Settings
from app.store import Store

ROOT = Path(__file__).resolve().parent.parent

DESCRIPTION = """Build PyTorch networks from JSON layer specs, train them on MNIST, and watch them
learn. Every capability of the browser playground is here as REST, and live runs stream over
websockets."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (read from the environment when not given)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with Store(settings.data_dir) as store:
            app.state.store = store
            yield

    app = FastAPI(
        title="NN Playground", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=ROOT / "templates")
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    install_error_handlers(app)
    for router in (health.router, layers.router, models.router, pages.router):
        app.include_router(router)
    return app
