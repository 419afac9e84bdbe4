"""Per-domain pseudonyms (分域匿名化): each consumer domain sees identifiers under its own key.

A domain key is HKDF-SHA256 of the master secret with the domain in ``info``; a pseudonym is
HMAC-SHA256 under that key of ``<kind>:<identifier>``, base32, followed by a short tag keyed on the
same domain key. Two domains' pseudonyms of one person share nothing, so their extracts cannot be
joined; the tag lets the bureau tell which domain a leaked pseudonym belongs to without any lookup.
Re-identification is a lookup over candidate identifiers (pseudonymise, then invert) and is always
written to the audit log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from citydata.circulation.audit_log import AuditLog

_SALT = b"citydata/pseudonym/v1"
BODY_CHARS = 20  # 100 bits
TAG_CHARS = 4    # 20 bits: a random string passes one domain's tag check with p ~ 1e-6


def domain_key(master: bytes, domain: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=f"domain:{domain}".encode()).derive(master)


def _b32(digest: bytes, chars: int) -> str:
    return base64.b32encode(digest).decode().lower()[:chars]


def _tag(key: bytes, body: str) -> str:
    return _b32(hmac.new(key, b"tag:" + body.encode(), hashlib.sha256).digest(), TAG_CHARS)


def normalise(identifier: str) -> str:
    return str(identifier).strip().upper()


class Pseudonymiser:
    """Pseudonyms of one domain."""

    def __init__(self, master: bytes, domain: str):
        self.domain = domain
        self._key = domain_key(master, domain)

    def pseudonym(self, identifier: str, kind: str = "id") -> str:
        body = _b32(hmac.new(self._key, f"{kind}:{normalise(identifier)}".encode(), hashlib.sha256).digest(),
                    BODY_CHARS)
        return f"{body}{_tag(self._key, body)}"

    def owns(self, value: object) -> bool:
        """Whether ``value`` is a pseudonym issued in this domain (its tag checks)."""
        text = str(value)
        if len(text) != BODY_CHARS + TAG_CHARS:
            return False
        body, tag = text[:BODY_CHARS], text[BODY_CHARS:]
        return hmac.compare_digest(_tag(self._key, body), tag)


def reidentify(pseudonymiser: Pseudonymiser, pseudonyms: Iterable[str], candidates: Iterable[str],
               log: AuditLog, *, actor: str, purpose: str, kind: str = "id") -> dict[str, str | None]:
    """``{pseudonym: identifier or None}`` found among ``candidates``; audited before it returns.
    The log records who, why, which domain and which pseudonyms — never the identifiers."""
    wanted = list(dict.fromkeys(pseudonyms))
    table = {pseudonymiser.pseudonym(c, kind): normalise(c) for c in candidates}
    found = {p: table.get(p) for p in wanted}
    log.append("reidentify", actor, domain=pseudonymiser.domain, purpose=purpose, pseudonyms=wanted,
               found=sum(v is not None for v in found.values()))
    return found
