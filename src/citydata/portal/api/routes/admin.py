"""The administrator's view of the audit log and its verification."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
