"""The FastAPI application factory; nothing heavy happens at import time."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from app import __version__
from app.api import branch as branch_api
from app.api import compare as compare_api
from app.api import datasets, docs, health, layers, metrics, models, pages, runs, tokens, ws
from app.api import explain as explain_api
from app.api.errors import install_error_handlers
from app.api.identity import CookieSigner, IdentityMiddleware, load_secret_key
from app.api.limits import BodySizeLimit, Larger
from app.api.metrics import install_metrics
from app.api.ratelimit import RateLimit
from app.api.security import SecurityHeaders, add_cors, inline_script_hashes
from app.events import EventBus
from app.inference import Predictor
from app.service import Playground
from app.settings import Settings
from app.store import Store
from app.training import RunManager
from app.training.starter import start_starter_run

ROOT = Path(__file__).resolve().parent.parent

# Browser libraries installed from npm (package.json + package-lock.json, `npm ci`), served
# offline under /vendor/<name>; never from a CDN.
VENDOR = {
    "uplot": ROOT / "node_modules" / "uplot" / "dist",
    "swagger-ui": ROOT / "node_modules" / "swagger-ui-dist",  # the API reference at /docs
}

logger = logging.getLogger(__name__)

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
            app.state.signer = CookieSigner(load_secret_key(settings))
            bus = EventBus(asyncio.get_running_loop())
            manager = RunManager(store, settings)
            manager.add_listener(bus.publish)
            await run_in_threadpool(manager.start)
            await run_in_threadpool(start_starter_run, manager)
            app.state.store, app.state.bus, app.state.manager = store, bus, manager
            app.state.predictor = predictor = Predictor(manager)
            app.state.playground = Playground(store, manager, predictor, settings)
            try:
                yield
            finally:
                await run_in_threadpool(manager.close)

    app = FastAPI(
        title="NN Playground",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # app.api.docs serves Swagger UI from npm, not from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=ROOT / "templates")
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    for name, directory in VENDOR.items():
        if not directory.is_dir():
            logger.warning(
                "%s is missing: run `npm ci` in %s for the charts and /docs", directory, ROOT
            )
        app.mount(f"/vendor/{name}", StaticFiles(directory=directory, check_dir=False), name=name)
    # Starlette runs the middleware added last first: identity, then the rate limit per person.
    app.add_middleware(RateLimit, per_minute=settings.rate_limit_per_minute)
    app.add_middleware(IdentityMiddleware)
    upload = settings.max_upload_bytes
    uploads = Larger(upload + 65_536, f"the upload is larger than {upload:,} bytes")  # + the form
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        larger={("POST", "/api/datasets"): uploads},
    )
    add_cors(app, settings.cors_origins)
    scripts = inline_script_hashes(app.state.templates.env)
    app.add_middleware(SecurityHeaders, script_hashes=scripts)  # outermost: on every response
    install_error_handlers(app)
    install_metrics(app)  # its middleware outermost: every request is counted
    for router in (
        datasets.router,
        docs.router,
        health.router,
        layers.router,
        metrics.router,
        models.router,
        runs.router,
        compare_api.router,
        explain_api.router,
        branch_api.router,
        tokens.router,
        ws.router,
        pages.router,
    ):
        app.include_router(router)
    return app
