"""Who is asking: one local user, or in shared mode a person per signed cookie or bearer token.

`IdentityMiddleware` puts an `Identity` into every request's and websocket's scope state:
- single-user mode: everyone is the local user and sees everything;
- shared mode: `Authorization: Bearer <token>` (API clients) or the signed `nnp_user` cookie
  (browsers). A browser's first page visit creates a user and sets the cookie; with an access
  token configured it is sent to /join first. Routes decide what needs an identity.
It also refuses cross-site writes and websockets (an `Origin` that is neither this server nor a
configured CORS origin), so the cookie cannot be used by another site.
"""

import hmac
import json
import os
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings
from app.store import Store, new_id

COOKIE = "nnp_user"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
LOCAL_USER = "local"
SECRET_FILE = "secret_key"
# and /runs/{id}: where a browser gets its identity
_PAGES = {"/", "/build", "/runs", "/draw", "/datasets", "/plane"}
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True, slots=True)
class Identity:
    """The person behind a request; `user_id` None means nobody has said who they are."""

    user_id: str | None
    shared: bool  # shared mode: people see only their own work
    via: str  # "local", "cookie", "bearer" or "none"

    def owns(self, owner: str | None) -> bool:
        """Whether this person may see and control something `owner` made."""
        return not self.shared or (self.user_id is not None and owner == self.user_id)

    @property
    def owner(self) -> str | None:
        """What to record as the owner of new models and runs."""
        return self.user_id


def load_secret_key(settings: Settings) -> str:
    """The cookie-signing key: from settings, else a random one kept in data_dir (mode 600)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    key = secrets.token_urlsafe(32)
    with os.fdopen(descriptor, "w") as file:
        file.write(key)
    return key


class CookieSigner:
    """Signs user ids into cookie values and checks them back."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="nnp-user")

    def sign(self, user_id: str) -> str:
        """The cookie value for `user_id`."""
        return self._serializer.dumps(user_id)

    def user_id(self, value: str) -> str | None:
        """The user id a cookie value was signed for, or None if forged or too old."""
        try:
            user_id = self._serializer.loads(value, max_age=COOKIE_MAX_AGE)
        except BadSignature:
            return None
        return user_id if isinstance(user_id, str) else None


def access_token_matches(settings: Settings, token: object) -> bool:
    """Whether `token` is the configured access token (always true when none is configured)."""
    if settings.access_token is None:
        return True
    expected = settings.access_token.get_secret_value().encode()
    return isinstance(token, str) and hmac.compare_digest(token.encode(), expected)


def set_cookie_header(signer: CookieSigner, user_id: str, secure: bool) -> tuple[bytes, bytes]:
    """The Set-Cookie header that gives a browser its identity."""
    cookie: SimpleCookie = SimpleCookie()
    cookie[COOKIE] = signer.sign(user_id)
    morsel = cookie[COOKIE]
    morsel["path"] = "/"
    morsel["max-age"] = COOKIE_MAX_AGE
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    morsel["secure"] = secure
    return b"set-cookie", morsel.OutputString().encode("latin-1")


def local_next(target: str | None) -> str:
    """`target` if it is a path on this site, else "/" (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


_OWN_CREDENTIALS = frozenset({"/metrics"})  # checked by the route (NNP_METRICS_TOKEN)


class IdentityMiddleware:
    """Resolve the identity of every request (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        settings: Settings = state.settings
        headers = Headers(scope=scope)
        if not _same_site(scope, headers, settings):
            await _refuse(scope, send, 403, "cross-site requests are not allowed")
            return
        if not settings.is_shared():
            scope.setdefault("state", {})["identity"] = Identity(LOCAL_USER, False, "local")
            await self.app(scope, receive, send)
            return
        if scope["path"] in _OWN_CREDENTIALS:  # its bearer token is not a person's
            scope.setdefault("state", {})["identity"] = Identity(None, True, "none")
            await self.app(scope, receive, send)
            return
        identity = await _resolve(headers, state.store, state.signer)
        if identity is None:
            await _refuse(
                scope,
                send,
                401,
                "the bearer token is unknown or revoked; create one with POST /api/tokens",
            )
            return
        scope.setdefault("state", {})["identity"] = identity
        if identity.user_id is not None or not _is_page(scope):
            await self.app(scope, receive, send)
        elif settings.access_token is not None:
            await _redirect_to_join(scope, send)
        else:
            await self._welcome(scope, receive, send, state.signer)

    async def _welcome(
        self, scope: Scope, receive: Receive, send: Send, signer: CookieSigner
    ) -> None:
        """A browser's first visit: a new user id, remembered by a cookie set on this response.

        Nothing is written until the person saves something, so cookie-less bots cost nothing.
        """
        user_id = new_id()
        scope["state"]["identity"] = Identity(user_id, True, "cookie")
        header = set_cookie_header(signer, user_id, scope.get("scheme") == "https")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def _resolve(headers: Headers, store: Store, signer: CookieSigner) -> Identity | None:
    """The identity the headers prove; None for a bad bearer token."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user_id = await run_in_threadpool(store.user_for_token, token.strip())
        return None if user_id is None else Identity(user_id, True, "bearer")
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header: as if there were none
        cookie = SimpleCookie()
    if COOKIE in cookie:
        user_id = signer.user_id(cookie[COOKIE].value)
        if user_id is not None:
            return Identity(user_id, True, "cookie")
    return Identity(None, True, "none")


def _is_page(scope: Scope) -> bool:
    path: str = scope["path"]
    return (
        scope["type"] == "http"
        and scope["method"] in ("GET", "HEAD")
        and (path in _PAGES or path.startswith("/runs/"))
        # A shared run's link is only read: it needs no identity. A shared dataset's is for
        # training on it, which does.
        and (path == "/datasets" or b"share=" not in scope.get("query_string", b""))
    )


def _same_site(scope: Scope, headers: Headers, settings: Settings) -> bool:
    """False for a write or websocket that another site's page started."""
    if scope["type"] == "http" and scope["method"] in _SAFE_METHODS:
        return True
    origin = headers.get("origin")
    if origin is None or origin in settings.cors_origins:
        return True  # not from a browser page, or from a site allowed on purpose
    return urlsplit(origin).netloc == headers.get("host", "")


async def _redirect_to_join(scope: Scope, send: Send) -> None:
    target = scope["path"]
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    location = "/join?next=" + quote(target, safe="")
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode()), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 4000 + status, "reason": detail})
        return
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
