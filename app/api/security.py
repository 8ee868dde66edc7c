"""Security headers on every response, a strict CSP on pages, and CORS closed by default."""

import base64
import hashlib
import re
from collections.abc import Sequence
from html.parser import HTMLParser

import jinja2
from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# On every HTTP response. Share links carry a token in their query, so no page may leak its
# URL in a Referer; nothing here needs a camera, microphone, location or payment.
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "accelerometer=(), camera=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), payment=(), usb=()",
    "X-Frame-Options": "DENY",
}
# A host header we can safely echo into the CSP (name or IP, optional port); else just 'self'.
_PORT = r"(?::\d{1,5})?"
_HOST = re.compile(rf"(?:[a-z0-9-]{{1,63}}\.)*[a-z0-9-]{{1,63}}{_PORT}|\[[0-9a-f:.]+\]{_PORT}")


def content_security_policy(script_hashes: Sequence[str] = (), host: str | None = None) -> str:
    """The CSP of HTML pages: only our own files, plus inline scripts with these hashes."""
    sockets = f" ws://{host} wss://{host}" if host and _HOST.fullmatch(host) else ""
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["script-src 'self'", *script_hashes]),
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            f"connect-src 'self'{sockets}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """Add HEADERS to every HTTP response and the CSP to HTML ones; headers already set win."""

    def __init__(self, app: ASGIApp, script_hashes: Sequence[str] = ()) -> None:
        self.app = app
        self.script_hashes = tuple(script_hashes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
                    policy = content_security_policy(self.script_hashes, host)
                    headers.setdefault("Content-Security-Policy", policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _InlineScripts(HTMLParser):
    """Collect the text of every <script> element without a src attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._current = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._current is not None:
            self.scripts.append("".join(self._current))
            self._current = None


def script_hash(text: str) -> str:
    """The CSP source allowing one inline script whose text is exactly `text`."""
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def inline_script_hashes(env: jinja2.Environment, template: str = "base.html") -> list[str]:
    """Hashes of the inline scripts (the importmap) of `template` as `env` renders it."""
    html = env.overlay(undefined=jinja2.ChainableUndefined).get_template(template).render()
    return html_script_hashes(html)


def html_script_hashes(html: str) -> list[str]:
    """Hashes of the inline scripts of an HTML document."""
    parser = _InlineScripts()
    parser.feed(html)
    parser.close()
    return [script_hash(text) for text in parser.scripts]


def add_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """Let exactly `origins` (Settings.cors_origins, already checked) call the API from their
    pages; with none, add no CORS at all."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Content-Disposition"],
        allow_credentials=False,  # API clients send a bearer token; cookies stay same-site
        max_age=600,
    )
