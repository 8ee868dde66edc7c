"""Dependencies shared by the routers, as Annotated aliases."""

from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from starlette.requests import HTTPConnection

from app.api.identity import Identity
from app.inference import Predictor
from app.settings import Settings
from app.store import Store
from app.training import RunManager


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> Store:
    """The app's SQLite store, opened by the lifespan."""
    store: Store = request.app.state.store
    return store


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]


def get_manager(request: Request) -> RunManager:
    """The run manager that owns the training workers."""
    manager: RunManager = request.app.state.manager
    return manager


def get_predictor(request: Request) -> Predictor:
    """The predictor that serves drawn digits from runs' latest weights."""
    predictor: Predictor = request.app.state.predictor
    return predictor


ManagerDep = Annotated[RunManager, Depends(get_manager)]
PredictorDep = Annotated[Predictor, Depends(get_predictor)]


def get_identity(connection: HTTPConnection) -> Identity:
    """Who is asking (set by IdentityMiddleware for every request and websocket)."""
    identity: Identity = connection.state.identity
    return identity


def require_user(identity: Annotated[Identity, Depends(get_identity)]) -> Identity:
    """The identity of someone who has said who they are; 401 for nobody (shared mode)."""
    if identity.user_id is None:
        raise HTTPException(
            401,
            "who are you? open the playground in a browser, or send the bearer token "
            "from POST /api/tokens as `Authorization: Bearer <token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return identity


IdentityDep = Annotated[Identity, Depends(get_identity)]
UserDep = Annotated[Identity, Depends(require_user)]
ShareQuery = Annotated[
    str | None,
    Query(max_length=64, description="the token of a run shared by link (read-only access)"),
]
