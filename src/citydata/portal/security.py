"""Security headers on every response and the pre-login CSRF cookie.

Scripts come only from the portal's own static files (``script-src 'self'``): charts read their data
from JSON endpoints or ``data-`` attributes, never from inline scripts. Only the Swagger UI page at
``/docs`` (its initialiser is inline) gets a script-src that allows it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citydata.portal.auth import CSRF_COOKIE, new_csrf_cookie

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task switch, unlike BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp, secure_cookies: bool) -> None:
        self.app = app
        self.secure = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = _cookie(scope, CSRF_COOKIE)
        fresh = cookie is None
        state = scope.setdefault("state", {})
        state["csrf_cookie"] = cookie or new_csrf_cookie()
        path = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if b"content-security-policy" not in present:
                    policy = DOCS_CSP if path in ("/docs", "/redoc") else CSP
                    headers.append((b"content-security-policy", policy.encode()))
                if self.secure:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                if fresh and not path.startswith(("/static/", "/api/")):
                    flags = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if self.secure else "")
                    headers.append((b"set-cookie", f"{CSRF_COOKIE}={state['csrf_cookie']}{flags}".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name and v:
                    return v
    return None
