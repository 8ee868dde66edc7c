"""Dependencies shared by the routers, as Annotated aliases."""

from typing import Annotated

from fastapi import Depends, Request

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
