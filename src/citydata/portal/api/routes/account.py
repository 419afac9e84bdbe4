"""Sign-in and sign-out, the language switch, applying for access to a conditional dataset, and the
account page (my requests, my grants and their use, my API keys).

Everything here is the signed-in user's own: requests and grants are filtered by ``consumer ==
user.id``, API keys are looked up with their owner (another user's key id is as absent as a missing
one). Decisions on requests are the steward console's (``steward.py``); GrantStore checks every
request against the dataset's offer and logs it.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citydata.catalog.store import UnknownEntityError, all_entities, get_entity
from citydata.circulation.usage import load_usage
from citydata.errors import CityDataError
from citydata.portal.access import OPENNESS_LABELS, open_gate, usage_of
from citydata.portal.accounts import AccountStore, User
from citydata.portal.api.deps import Catalog
from citydata.portal.auth import SESSION_COOKIE, Accounts, CsrfChecked, SignedIn, now, settings_of
from citydata.portal.present import DOWNLOAD_FORMATS, LANG_COOKIE, LANGS, download_url, templates
from citydata.portal.serving import dataset_name
from citydata.settings import Settings

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


# -- applying for access -------------------------------------------------------------------------------

def _entity(catalog: dict[str, Any], fqn: str) -> dict[str, Any]:
    try:
        return get_entity(catalog, fqn)
    except UnknownEntityError:
        raise HTTPException(404, f"目录中没有数据集 “{fqn}” / no dataset {fqn!r} in the catalog") from None


def _apply_page(request: Request, settings: Settings, entity: dict[str, Any], user: User, *,
                values: dict[str, Any] | None = None, error: str | None = None, status: int = 200) -> HTMLResponse:
    fqn = entity["fullyQualifiedName"]
    usage = usage_of(settings, fqn)
    labels = load_usage(settings.circulation.policies_dir).purposes
    context: dict[str, Any] = {
        "e": entity, "dataset": dataset_name(fqn), "usage": usage, "error": error,
        "openness": OPENNESS_LABELS[usage.openness if usage else "closed"],
        "conditional": usage is not None and usage.openness == "conditional",
        "role_allowed": usage is not None and user.role in usage.roles,
        "purposes": [(p, labels.get(p, p)) for p in (usage.purposes if usage else [])],
        "values": values or ({"purpose": usage.purposes[0], "rows": usage.max_rows, "downloads": usage.max_downloads,
                              "days": usage.max_days} if usage and usage.purposes else {})}
    return templates.TemplateResponse(request, "apply.html", context, status_code=status)


@router.get("/datasets/{fqn:path}/apply", response_class=HTMLResponse, include_in_schema=False)
def apply_form(request: Request, fqn: str, catalog: Catalog, user: SignedIn) -> HTMLResponse:
    """The application form of a conditional dataset, prefilled with its offer's maxima."""
    return _apply_page(request, settings_of(request), _entity(catalog, fqn), user)


@router.post("/datasets/{fqn:path}/apply", include_in_schema=False, dependencies=[CsrfChecked])
def apply(request: Request, fqn: str, catalog: Catalog, user: SignedIn,
          purpose: Annotated[str, Form(max_length=80)], rows: Annotated[int, Form()],
          downloads: Annotated[int, Form()], days: Annotated[int, Form()]) -> Response:
    """Apply: GrantStore refuses what goes beyond the offer (shown on the form); else to /account."""
    settings = settings_of(request)
    entity = _entity(catalog, fqn)
    values = {"purpose": purpose, "rows": rows, "downloads": downloads, "days": days}
    try:
        with open_gate(settings) as gate:
            gate.grants.request(user.actor, dataset_name(entity["fullyQualifiedName"]), purpose, rows=rows,
                                downloads=downloads, days=days, now=now())
    except CityDataError as exc:
        return _apply_page(request, settings, entity, user, values=values, error=str(exc), status=400)
    return RedirectResponse("/account#requests", status_code=303)


# -- my account ------------------------------------------------------------------------------------------

def dataset_fqns(catalog: dict[str, Any]) -> dict[str, str]:
    """Usage-policy dataset name → catalog FQN (for links)."""
    return {dataset_name(e["fullyQualifiedName"]): e["fullyQualifiedName"] for e in all_entities(catalog)}


def _download_links(fqn: str | None, grant_id: int, purpose: str) -> list[tuple[str, str]]:
    return [(fmt, download_url(fqn, fmt, grant_id, purpose)) for fmt in DOWNLOAD_FORMATS] if fqn else []


def _account_page(request: Request, user: User, store: AccountStore, catalog: dict[str, Any], *,
                  new_key: tuple[Any, str] | None = None) -> HTMLResponse:
    settings, at = settings_of(request), now()
    fqns = dataset_fqns(catalog)
    with open_gate(settings) as gate:
        purposes = gate.grants.usage.purposes
        requests = [r for r in reversed(gate.grants.requests()) if r.consumer == user.id]
        grants = []
        for g in reversed(gate.grants.grants()):
            if g.consumer != user.id:
                continue
            asked = gate.grants.request_of(g.request_id)
            used_rows, used_downloads = gate.log.grant_usage(g.id)
            status = g.status(at)
            grants.append({"g": g, "status": status, "used_rows": used_rows, "used_downloads": used_downloads,
                           "max_rows": asked.rows, "max_downloads": asked.downloads, "fqn": fqns.get(g.dataset),
                           "downloads": _download_links(fqns.get(g.dataset), g.id, g.purpose)
                           if status == "active" and used_downloads < asked.downloads else []})
    response = templates.TemplateResponse(request, "account.html", {
        "requests": requests, "grants": grants, "keys": store.keys(user), "fqns": fqns, "new_key": new_key,
        "purposes": purposes})
    if new_key is not None:
        response.headers["Cache-Control"] = "no-store"  # the secret is on this page only
    return response


@router.get("/account", response_class=HTMLResponse, include_in_schema=False)
def account(request: Request, user: SignedIn, store: Accounts, catalog: Catalog) -> HTMLResponse:
    """My access requests, my grants (status, expiry, use so far, downloads) and my API keys."""
    return _account_page(request, user, store, catalog)


@router.post("/account/keys", response_class=HTMLResponse, include_in_schema=False, dependencies=[CsrfChecked])
def create_key(request: Request, user: SignedIn, store: Accounts, catalog: Catalog,
               label: Annotated[str, Form(max_length=80)] = "") -> HTMLResponse:
    """A new API key; its secret is on this response only (stored as a hash)."""
    new_key = store.issue_key(user, label, now=now())
    return _account_page(request, user, store, catalog, new_key=new_key)


@router.post("/account/keys/{key_id}/revoke", include_in_schema=False, dependencies=[CsrfChecked])
def revoke_key(key_id: int, user: SignedIn, store: Accounts) -> Response:
    """Revoke one of my keys (another user's key id: 404, nothing revoked)."""
    try:
        store.revoke_key(key_id, user, now=now())
    except CityDataError as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse(f"/account#key-{quote(str(key_id))}", status_code=303)
