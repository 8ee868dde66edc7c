"""Fair use in shared mode: each person may make so many requests a minute; more get 429."""

import json
import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.identity import Identity

_EXEMPT_PREFIXES = ("/static/", "/vendor/")  # page assets: a page load fetches a dozen
NEW_TOKENS_PER_MINUTE = 60  # per address: each new token may create a person in the database


class RateLimit:
    """Count HTTP requests and websocket connections per user (or per address without one)."""

    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app = app
        self._item = RateLimitItemPerMinute(per_minute) if per_minute > 0 else None
        self._tokens = RateLimitItemPerMinute(NEW_TOKENS_PER_MINUTE)
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        item = self._item
        if (
            item is None
            or scope["type"] not in ("http", "websocket")
            or scope["path"].startswith(_EXEMPT_PREFIXES)
            or not scope["app"].state.settings.is_shared()
        ):
            await self.app(scope, receive, send)
            return
        key, what = _key(scope), "person"
        if scope["path"] == "/api/tokens" and scope.get("method") == "POST":
            item, key, what = self._tokens, f"tokens:{_address(scope)}", "address for new tokens"
        if self._limiter.hit(item, key):
            await self.app(scope, receive, send)
            return
        reset_at, _ = self._limiter.get_window_stats(item, key)
        retry_after = max(1, math.ceil(reset_at - time.time()))
        detail = (
            f"too many requests: at most {item.amount} a minute per {what}; "
            f"try again in {retry_after} s"
        )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4429, "reason": detail})
            return
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(body)),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _key(scope: Scope) -> str:
    identity: Identity | None = scope.get("state", {}).get("identity")
    if identity is not None and identity.user_id is not None:
        return f"user:{identity.user_id}"
    return f"address:{_address(scope)}"


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
