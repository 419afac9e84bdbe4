"""The portal application: ``create_app(settings)`` and ``serve(settings)``.

It reads three things the pipeline writes under ``Settings.var_dir``: the catalog JSON, the serving
copy of the published tables (``serving.duckdb``) and the circulation stores (audit log, grants);
and keeps its own accounts. The catalog and serving files are re-read when they change, so a re-run
of ``make demo`` shows new data without restarting. A missing catalog, an unknown dataset, a refusal
or an unexpected error gives a friendly page (HTML) or a JSON error (``/api/…``), never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from citydata.errors import CityDataError
from citydata.portal.access import AccessRefused
from citydata.portal.api.deps import CatalogStore, CatalogUnavailable
from citydata.portal.api.routes import account, admin, ckan, data_api, datasets, dcat, downloads, lineage, steward
from citydata.portal.auth import LoginRequired, RateLimits, SharedAccounts
from citydata.portal.present import HERE, templates
from citydata.portal.response_cache import ResponseCache
from citydata.portal.security import SecurityHeaders
from citydata.portal.serving import ServingStore
from citydata.settings import Settings

log = logging.getLogger(__name__)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _api_error(request: Request, status: int, kind: str, message: str) -> JSONResponse:
    if request.url.path.startswith("/api/3/"):
        action = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        return ckan.ckan_error(request, action, status, kind, message)
    return JSONResponse({"detail": message}, status_code=status)


def _page(request: Request, name: str, status: int, **context: object) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status)


API_DESCRIPTION = """城市公共数据开放平台 — the city's open-data portal and data service API.

* **Data API** (`/api/v1/…`): rows of published datasets, paginated and filtered, as your role and
  grants allow. Send an API key (`X-API-Key: cdk_…` or `Authorization: Bearer cdk_…`, created under
  *我的授权与密钥 / My grants and API keys*); without one you are the public. Over the rate limit: 429.
* **CKAN Action API** (`/api/3/action/…`): `package_list`, `package_search`, `package_show`,
  `organization_list`, `group_list`, `tag_list`, `datastore_search`, for CKAN clients and harvesters.
* **DCAT-AP** catalog in JSON-LD: `/catalog.jsonld`.
"""


def create_app(settings: Settings | Path) -> FastAPI:
    """The portal over ``settings.var_dir`` (a Path means: the catalog JSON at that path, and
    everything else beside it)."""
    catalog_path = settings if isinstance(settings, Path) else settings.catalog_path
    if isinstance(settings, Path):
        settings = Settings(var_dir=Path(settings).parent)
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.account_reader.close()

    app = FastAPI(title="citydata portal · 城市公共数据开放平台", description=API_DESCRIPTION, version="0.2.0",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.catalog_store = CatalogStore(catalog_path)
    app.state.serving = ServingStore(settings.serving_path)
    app.state.response_cache = ResponseCache(settings)
    app.state.account_reader = SharedAccounts(settings)
    app.state.rate_limits = RateLimits(settings.portal.rate_limit, settings.portal.anonymous_rate_limit)
    app.add_middleware(SecurityHeaders, secure_cookies=settings.portal.secure_cookies)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (datasets, downloads, account, steward, admin, data_api, ckan, dcat, lineage):
        app.include_router(module.router)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="citydata API 接口文档",
                                   swagger_js_url="/static/vendor/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui.css", swagger_favicon_url="")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    def _one_line(status: int, kind: str, page: str = "error.html"):
        async def handle(request: Request, exc: Exception) -> Response:
            if _is_api(request):
                return _api_error(request, status, kind, str(exc))
            return _page(request, page, status, message=str(exc))
        return handle

    # most specific first: a refusal (403) and a missing catalog (503) are CityDataErrors too
    app.add_exception_handler(AccessRefused, _one_line(403, "Authorization Error"))
    app.add_exception_handler(CatalogUnavailable, _one_line(503, "Service Unavailable", "no_catalog.html"))
    app.add_exception_handler(CityDataError, _one_line(400, "Bad Request"))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if _is_api(request):
            kind = {404: "Not Found Error", 403: "Authorization Error", 401: "Authorization Error",
                    429: "Rate Limit Error"}.get(exc.status_code, "Bad Request")
            response = _api_error(request, exc.status_code, kind, str(exc.detail))
            response.headers.update(exc.headers or {})
            return response
        if exc.status_code == 404:
            return _page(request, "not_found.html", 404, message_zh="没有这个页面",
                         message_en=f"No page at {request.url.path}.")
        return _page(request, "error.html", exc.status_code, message=str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        if _is_api(request):
            return _api_error(request, 422, "Validation Error", message)
        return _page(request, "error.html", 422, message=message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("portal error on %s", request.url.path)
        if _is_api(request):
            return _api_error(request, 500, "Internal Server Error", "internal error: see the server log")
        return _page(request, "error.html", 500, message="服务器内部错误，请查看日志 / internal error, see the server log")

    return app


def from_environment() -> FastAPI:
    """The app over ``Settings()`` from the environment: each worker process builds its own."""
    return create_app(Settings())


def serve(settings: Settings) -> None:
    """Run the portal with uvicorn until interrupted; with ``portal.workers`` > 1 as that many worker
    processes (each reads the same files; their settings come from the environment)."""
    import uvicorn

    p = settings.portal
    if p.workers > 1:
        uvicorn.run("citydata.portal.app:from_environment", factory=True, host=p.host, port=p.port,
                    workers=p.workers, log_level="info")
    else:
        uvicorn.run(create_app(settings), host=p.host, port=p.port, log_level="info")
