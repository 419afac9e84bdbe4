"""Sign-in and sign-out (more of the account pages: applying for access, my grants and API keys)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citydata.portal.auth import SESSION_COOKIE, Accounts, CsrfChecked, now, settings_of
from citydata.portal.present import LANG_COOKIE, LANGS, templates

router = APIRouter(tags=["account"])


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no //): an open redirect is refused."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "failed": False})


@router.post("/login", include_in_schema=False, dependencies=[CsrfChecked])
def login(request: Request, store: Accounts, user_id: Annotated[str, Form(max_length=80)],
          password: Annotated[str, Form(max_length=200)], next: Annotated[str, Form()] = "/") -> Response:
    settings = settings_of(request)
    user = store.authenticate(user_id.strip(), password)
    if user is None:
        return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "failed": True},
                                          status_code=401)
    token = store.open_session(user, now=now(), hours=settings.portal.session_hours)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.portal.session_hours * 3600, path="/",
                        httponly=True, samesite="lax", secure=settings.portal.secure_cookies)
    return response


@router.post("/logout", include_in_schema=False, dependencies=[CsrfChecked])
def logout(request: Request, store: Accounts) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        store.close_session(token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}", include_in_schema=False)
def switch_language(code: str, next: str | None = None) -> Response:
    """The language switch: remembers ``zh`` or ``en`` in a cookie and goes back."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in LANGS:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, path="/", samesite="lax")
    return response
