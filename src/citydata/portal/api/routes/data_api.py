"""The REST data API (/api/v1): datasets, rows with pagination and filters, API keys, rate limits."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
