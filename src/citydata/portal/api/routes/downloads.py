"""Downloads (CSV, JSON, Parquet) as the viewer's rights allow, through the circulation gate."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
