"""Fixtures for circulation tests: an audit log in a temporary directory, signed with a fresh key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from citydata.circulation.audit_log import AuditLog
from citydata.circulation.checkpoints import load_signing_key

MASTER_SECRET = b"test-master-secret-0123456789abcdef-not-for-production"


@pytest.fixture
def audit_log(tmp_path: Path) -> Iterator[AuditLog]:
    key = load_signing_key(None, tmp_path / "keys" / "audit.key")
    with AuditLog(tmp_path / "audit" / "audit.sqlite", key) as log:
        yield log
