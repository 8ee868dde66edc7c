"""Bounds on what one request may cost: its body size (413)."""

import json
from typing import NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Larger(NamedTuple):
    """A route's own body limit and what a refusal says."""

    max_bytes: int
    message: str


class BodySizeLimit:
    """Answer 413 to any HTTP request whose body is larger than `max_bytes`.

    A declared Content-Length is checked before reading; a streamed body is read up to the limit
    and then handed on, so no handler ever sees more than `max_bytes`. `larger` names the
    (method, path) pairs that may send more (uploads), with their own limit and what to say.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, larger: dict[tuple[str, str], Larger] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed = self.larger.get((scope["method"], scope["path"]))
        limit = allowed.max_bytes if allowed else self.max_bytes
        refusal = allowed.message if allowed else f"the request body is larger than {limit:,} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) <= limit:
                await self.app(scope, receive, send)
            else:
                await self._refuse(send, refusal)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # the client left: let the app see it
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, refusal)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, message: str) -> None:
        body = json.dumps({"detail": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
