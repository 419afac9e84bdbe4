"""Circulation resources resolved from Settings: the audit log, its key, the master secret, the grant store."""

from __future__ import annotations

from citydata.circulation.audit_log import AuditLog
from citydata.circulation.checkpoints import load_signing_key
from citydata.circulation.grants import GrantStore
from citydata.circulation.usage import load_usage
from citydata.errors import CityDataError
from citydata.settings import Settings

MIN_SECRET_BYTES = 32


def open_audit_log(settings: Settings) -> AuditLog:
    c = settings.circulation
    key_path = c.signing_key_path or settings.var_dir / "keys" / "audit-ed25519.key"
    key = load_signing_key(c.signing_key.get_secret_value() if c.signing_key else None, key_path)
    return AuditLog(c.audit_path or settings.var_dir / "audit" / "audit.sqlite", key, c.log_origin)


def open_grants(settings: Settings, log: AuditLog) -> GrantStore:
    """Access requests and grants, in ``grants.sqlite`` beside the audit log, under ``policies/usage.yaml``."""
    return GrantStore(log.path.with_name("grants.sqlite"), log, load_usage(settings.circulation.policies_dir))


def master_secret(settings: Settings) -> bytes:
    """The pseudonym master secret; only ever from the environment."""
    secret = settings.circulation.master_secret
    if secret is None:
        raise CityDataError("no pseudonym master secret: set CITYDATA_CIRCULATION__MASTER_SECRET "
                            f"(at least {MIN_SECRET_BYTES} random bytes, e.g. `openssl rand -hex 32`)")
    value = secret.get_secret_value().encode()
    if len(value) < MIN_SECRET_BYTES:
        raise CityDataError(f"CITYDATA_CIRCULATION__MASTER_SECRET is {len(value)} bytes: use at least "
                            f"{MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -hex 32`)")
    return value
