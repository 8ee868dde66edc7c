"""Dependencies shared by the routers, as Annotated aliases."""

from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from starlette.requests import HTTPConnection

from app.api.identity import Identity
from app.service import Playground
from app.settings import Settings


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_playground(connection: HTTPConnection) -> Playground:
    """The service layer: the routes' one door into the core."""
    playground: Playground = connection.app.state.playground
    return playground


PlaygroundDep = Annotated[Playground, Depends(get_playground)]


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
