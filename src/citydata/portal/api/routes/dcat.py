"""The DCAT-AP catalog in JSON-LD."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
