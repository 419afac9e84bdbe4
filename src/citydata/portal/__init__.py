"""The portal: a FastAPI app over what the pipeline publishes — dataset pages, downloads, the data
API, a CKAN-compatible Action API, DCAT-AP — with every row passing the circulation gate.

``create_app(settings)`` builds the app; ``serve(settings)`` runs it with uvicorn. Imported lazily,
so the pipeline can use :mod:`citydata.portal.serving` without loading the web stack.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from citydata.portal import app

        return getattr(app, name)
    raise AttributeError(name)
