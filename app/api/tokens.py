"""Identities for API clients: bearer tokens, and who the caller is."""

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.api.deps import IdentityDep, PlaygroundDep, SettingsDep, UserDep
from app.api.identity import access_token_matches

router = APIRouter(prefix="/api", tags=["identity"])


class TokenCreate(BaseModel):
    """Ask for a bearer token; a newcomer on a server with an access token must give it."""

    access_token: str | None = Field(
        default=None, max_length=256, description="the server's access token, if it has one"
    )


class TokenCreated(BaseModel):
    """A new bearer token: send it as `Authorization: Bearer <token>`; it is shown only once."""

    token: str
    user_id: str


class Me(BaseModel):
    """Who the caller is."""

    user_id: str | None
    shared_mode: bool
    via: str


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    responses={401: {"description": "This server needs its access token"}},
)
async def create_token(
    body: TokenCreate, identity: IdentityDep, playground: PlaygroundDep, settings: SettingsDep
) -> TokenCreated:
    """A bearer token for scripts: for the caller, or (shared mode, nobody yet) a new person."""
    user_id = identity.user_id
    if user_id is None:
        if not access_token_matches(settings, body.access_token):
            raise HTTPException(
                401,
                "access_token: this server needs its access token to let a newcomer in"
                if body.access_token is None
                else "access_token: wrong access token",
            )
        user_id = await run_in_threadpool(playground.new_person)
    token = await run_in_threadpool(playground.token_for, user_id)
    return TokenCreated(token=token, user_id=user_id)


@router.delete(
    "/tokens/current",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "The request carried no bearer token"}},
)
async def revoke_token(request: Request, user: UserDep, playground: PlaygroundDep) -> Response:
    """Revoke the bearer token this request carries."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not await run_in_threadpool(
        playground.revoke_token, token.strip()
    ):
        raise HTTPException(404, "this request carries no known bearer token")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me")
def read_me(identity: IdentityDep) -> Me:
    """The caller's user id, whether the server is in shared mode, and how it knows."""
    return Me(user_id=identity.user_id, shared_mode=identity.shared, via=identity.via)
