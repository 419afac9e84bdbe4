"""The portal: a FastAPI app over the local catalog — dataset pages, lineage, a CKAN-compatible API.

``create_app(catalog_path)`` builds the app; ``serve(catalog_path, host, port)`` runs it with uvicorn.
"""

from citydata.portal.app import create_app, serve

__all__ = ["create_app", "serve"]
