"""Who is asking: the viewer of a request, from the session cookie (pages) or an API key (data API).

- **Sessions**: cookie ``citydata_session`` (HttpOnly, SameSite=Lax, Secure when
  ``portal.secure_cookies``), a random token whose hash the account store keeps.
- **CSRF**: every form posts ``csrf_token``; it must equal the session's token or, before login,
  the ``citydata_csrf`` cookie (double submit). :func:`require_csrf` checks it on every POST form.
- **API keys**: ``X-API-Key: cdk_…`` or ``Authorization: Bearer cdk_…`` (CKAN clients: a bare
  ``Authorization: cdk_…`` or ``X-CKAN-API-Key``); never from a cookie, so key-authenticated calls
  need no CSRF token.
- **Rate limits**: a sliding-window counter (``limits``: O(1) per hit, unlike a moving window
  of timestamps) per API key, or per client address without one;
  over the limit answers 429 with ``Retry-After``.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from citydata.circulation.grants import Actor
from citydata.portal.access import PUBLIC
from citydata.portal.accounts import AccountStore, User
from citydata.settings import Settings

SESSION_COOKIE = "citydata_session"
CSRF_COOKIE = "citydata_csrf"


def now() -> datetime:
    return datetime.now(UTC)


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def accounts(request: Request) -> Iterator[AccountStore]:
    """FastAPI dependency: the account store, open for this request."""
    store = AccountStore(settings_of(request).accounts_path)
    try:
        yield store
    finally:
        store.close()


Accounts = Annotated[AccountStore, Depends(accounts)]


@dataclass(frozen=True)
class Viewer:
    user: User | None
    csrf: str
    via_key: bool = False

    @property
    def actor(self) -> Actor:
        return self.user.actor if self.user else PUBLIC

    @property
    def role(self) -> str:
        return self.user.role if self.user else "public"


class LoginRequired(Exception):
    """Raised for pages that need a signed-in user: the app redirects to /login?next=…"""


def _api_key(request: Request) -> str | None:
    """``X-API-Key``, ``Authorization: Bearer <key>``, or as CKAN clients send it: ``Authorization:
    <key>`` or ``X-CKAN-API-Key``."""
    headers = request.headers
    key = headers.get("x-api-key") or headers.get("x-ckan-api-key")
    if key:
        return key.strip()
    auth = headers.get("authorization", "").strip()
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return auth if auth and not value else None  # a bare key; other schemes (Basic …) are not ours


class SharedAccounts:
    """One account-store connection per process for the lookups every API call makes (key, session):
    SQLite in WAL mode gives each read the latest committed state, so a revoked key fails at once."""

    def __init__(self, settings: Settings) -> None:
        self.store = AccountStore(settings.accounts_path)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.store.close()


def resolve_viewer(request: Request, store: AccountStore | None = None) -> Viewer:
    """The session's or API key's user, else the public. The account store is opened only when the
    request carries a key or a session cookie (``store`` lends an open one)."""
    cached = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    key = _api_key(request)
    token = request.cookies.get(SESSION_COOKIE)
    if key is None and not token:
        found = Viewer(None, getattr(request.state, "csrf_cookie", ""))
    elif store is not None:
        found = _identify(request, store, key, token)
    else:
        reader: SharedAccounts = request.app.state.account_reader
        with reader.lock:
            found = _identify(request, reader.store, key, token)
    request.state.viewer = found
    return found


def _identify(request: Request, store: AccountStore, key: str | None, token: str | None) -> Viewer:
    if key is not None:
        user = store.user_for_key(key)
        if user is None:
            raise HTTPException(401, "API key not recognised or revoked: create one under 我的授权与密钥 (/account)")
        return Viewer(user, "", via_key=True)
    session = store.session(token, now=now()) if token else None
    if session is not None:
        return Viewer(session.user, session.csrf)
    return Viewer(None, getattr(request.state, "csrf_cookie", ""))


def viewer(request: Request) -> Viewer:
    """FastAPI dependency: :func:`resolve_viewer`."""
    return resolve_viewer(request)


CurrentViewer = Annotated[Viewer, Depends(viewer)]


def page_viewer(request: Request) -> Viewer:
    """The viewer for a template (the route's, or resolved here for routes that did not ask); a key
    the page cannot use counts as no one."""
    try:
        return resolve_viewer(request)
    except HTTPException:
        return Viewer(None, getattr(request.state, "csrf_cookie", ""))


def signed_in(current: CurrentViewer) -> User:
    """FastAPI dependency for pages that need a user."""
    if current.user is None:
        raise LoginRequired()
    return current.user


SignedIn = Annotated[User, Depends(signed_in)]


def role_required(role: str) -> Callable[[User], User]:
    """A dependency: the signed-in user if their role is ``role`` (anonymous: to the login page; any
    other role: 403)."""
    def check(user: SignedIn) -> User:
        if user.role != role:
            raise HTTPException(403, f"这个页面只对{role}角色开放 / only for the {role} role "
                                     f"(you are {user.id}, {user.role})")
        return user
    return check


def require_csrf(current: CurrentViewer, csrf_token: Annotated[str, Form()] = "") -> None:
    """FastAPI dependency for every POST form: the token must be the viewer's."""
    if not current.csrf or not hmac.compare_digest(csrf_token.encode(), current.csrf.encode()):
        raise HTTPException(403, "表单已过期或来源不明，请刷新页面后重试 / form expired or not from this site: reload and retry")


CsrfChecked = Depends(require_csrf)


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(32)


class RateLimits:
    """Sliding-window limits per API key / client address, in this process's memory."""

    def __init__(self, keyed: str, anonymous: str) -> None:
        self.keyed, self.anonymous = parse(keyed), parse(anonymous)
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def check(self, who: str, keyed: bool) -> None:
        item = self.keyed if keyed else self.anonymous
        if not self.limiter.hit(item, who):
            reset = self.limiter.get_window_stats(item, who).reset_time
            retry = max(1, int(reset - now().timestamp()) + 1)
            raise HTTPException(429, f"rate limit {item} exceeded: retry in {retry} s",
                                headers={"Retry-After": str(retry)})


def rate_limited(request: Request, current: CurrentViewer) -> Viewer:
    """FastAPI dependency for API routes: the viewer, after counting the call against their limit."""
    limits: RateLimits = request.app.state.rate_limits
    if current.via_key and current.user is not None:
        limits.check(f"key:{current.user.id}", keyed=True)
    else:
        limits.check(f"ip:{request.client.host if request.client else 'unknown'}", keyed=False)
    return current


ApiViewer = Annotated[Viewer, Depends(rate_limited)]
