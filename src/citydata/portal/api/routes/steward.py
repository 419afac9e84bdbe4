"""The steward console: requests to decide, own department's conflicts, quarantined rows and usage."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
