"""The portal application: ``create_app(catalog_path)`` and ``serve(catalog_path, host, port)``.

The catalog is read per request through a cheap mtime cache, so a re-run of ``make demo`` shows
new data without restarting. A missing catalog, an unknown dataset or an unexpected error gives a
friendly page (HTML) or a JSON error (``/api/…``), never a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from citydata.portal.api.deps import CatalogStore, CatalogUnavailable
from citydata.portal.api.routes import ckan, datasets, lineage
from citydata.portal.present import HERE, templates

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


def create_app(catalog_path: Path) -> FastAPI:
    """The portal over the catalog JSON at ``catalog_path`` (which may not exist yet)."""
    app = FastAPI(title="citydata portal", description="城市数据目录 — datasets, lineage, CKAN API",
                  version="0.1.0")
    app.state.catalog_store = CatalogStore(Path(catalog_path))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(datasets.router)
    app.include_router(ckan.router)
    app.include_router(lineage.router)

    @app.exception_handler(CatalogUnavailable)
    async def _no_catalog(request: Request, exc: CatalogUnavailable) -> Response:
        if _is_api(request):
            return _api_error(request, 503, "Service Unavailable", str(exc))
        return _page(request, "no_catalog.html", 503, message=str(exc))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if _is_api(request):
            kind = "Not Found Error" if exc.status_code == 404 else "Bad Request"
            return _api_error(request, exc.status_code, kind, str(exc.detail))
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


def serve(catalog_path: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the portal with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(catalog_path), host=host, port=port, log_level="info")
