"""Dependencies shared by the routers, as Annotated aliases."""

from typing import Annotated

from fastapi import Depends, Request

from app.settings import Settings
from app.store import Store


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
