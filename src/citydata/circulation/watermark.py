"""Leak tracing (数据水印溯源): recipient fingerprints in restricted extracts, and finding them again.

An extract goes through :func:`~citydata.circulation.masking.enforce` for the recipient's role and
domain, so its identifiers are the domain's pseudonyms (each carrying the domain's tag). Then
recipient-unique canary records are mixed in: copies of keyed-chosen rows whose pseudonyms are of
invented identifiers and whose other alphanumeric cells are rewritten digit by digit and letter by
letter under the recipient's key — shaped like real rows, present in no other extract. The audit
log's ``extract`` entry records the recipient, domain and digests of the canaries' cells.

Tracing hashes every cell of a leaked file: any canary cell names its recipient, whatever columns
were dropped and however rows were sampled or shuffled; failing that, the domain tags of its
pseudonyms name the domain, and through it the recipient when the domain had only one.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from citydata.circulation.audit_log import DOWNLOAD_ACTIONS, AuditLog
from citydata.circulation.masking import MaskingPolicy, enforce
from citydata.circulation.pseudonyms import Pseudonymiser, domain_key

CANARIES = 150  # a 5% sample keeps at least one with probability 1 − 0.95¹⁵⁰ ≈ 99.95%
DISTINCTIVE = 8  # only cells this long are rewritten and recorded (shorter ones recur by chance)
KEEP = 3         # leading characters a rewrite keeps (prefixes such as a mobile's 1xx stay plausible)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def _rewrite(value: str, rng: random.Random) -> str:
    out = [value[:KEEP]]
    for ch in value[KEEP:]:
        if ch.isascii() and ch.isdigit():
            out.append(str(rng.randrange(10)))
        elif ch.isascii() and ch.isalpha():
            out.append(rng.choice("ABCDEFGHJKLMNPQRTUWXY") if ch.isupper() else rng.choice("abcdefghjkmnpqrstuwxyz"))
        else:
            out.append(ch)
    return "".join(out)


def _canaries(extract: pd.DataFrame, recipient: str, master: bytes, domain: Pseudonymiser,
              count: int) -> tuple[pd.DataFrame, list[str]]:
    key = domain_key(master, f"canary:{recipient}")
    rng = random.Random(int.from_bytes(hmac.new(key, b"rows", hashlib.sha256).digest(), "big"))
    rows, digests = [], []
    for i in range(count):
        template = extract.iloc[rng.randrange(len(extract))]
        row = {}
        for column, value in template.items():
            if isinstance(value, str) and domain.owns(value):
                value = domain.pseudonym(f"canary:{recipient}:{i}:{column}")
            elif (isinstance(value, str) and len(value) >= DISTINCTIVE
                  and sum(ch.isascii() and ch.isalnum() for ch in value[KEEP:]) >= 4):
                value = _rewrite(value, rng)
            if isinstance(value, str) and len(value) >= DISTINCTIVE and value != template[column]:
                digests.append(_digest(value))
            row[column] = value
        rows.append(row)
    return pd.DataFrame(rows, columns=extract.columns), sorted(set(digests))


def issue_extract(frame: pd.DataFrame, grades: dict[str, str], *, recipient: str, role: str, dataset: str,
                  policy: MaskingPolicy, domain: Pseudonymiser, master: bytes, log: AuditLog,
                  classes: dict[str, str | None] | None = None, actor: str = "portal",
                  canaries: int = CANARIES, action: str = "extract", at: datetime | None = None,
                  **detail: Any) -> pd.DataFrame:
    """The extract ``recipient`` receives: enforced for its role and domain, canaries mixed in, audited
    (as ``action``, with ``detail`` such as the grant and purpose)."""
    visible = enforce(frame, grades, role, policy, classes=classes, pseudonymiser=domain).reset_index(drop=True)
    fakes, digests = _canaries(visible, recipient, master, domain, canaries) if len(visible) else (visible, [])
    seed = int.from_bytes(hmac.new(domain_key(master, f"canary:{recipient}"), b"order", hashlib.sha256).digest()[:8], "big")
    extract = pd.concat([visible, fakes], ignore_index=True).sample(frac=1, random_state=seed % 2**32)
    log.append(action, actor, consumer=recipient, dataset=dataset, rows=len(visible), at=at, role=role,
               domain=domain.domain, columns=list(extract.columns), canaries=digests, **detail)
    return extract.reset_index(drop=True)


@dataclass
class Trace:
    recipient: str | None
    domain: str | None
    canary_hits: dict[str, int] = field(default_factory=dict)
    domain_hits: dict[str, int] = field(default_factory=dict)
    candidates: list[str] = field(default_factory=list)


def trace_leak(leaked: pd.DataFrame, log: AuditLog, master: bytes) -> Trace:
    """Who received the rows in ``leaked`` (any subset of rows and columns of an extract)."""
    issued = [e for e in log.entries() if e["action"] in DOWNLOAD_ACTIONS and "canaries" in e["detail"]]
    owner: dict[str, set[str]] = {}
    recipients_of: dict[str, set[str]] = {}
    for e in issued:
        for d in e["detail"]["canaries"]:
            owner.setdefault(d, set()).add(e["consumer"])
        recipients_of.setdefault(e["detail"]["domain"], set()).add(e["consumer"])
    cells = [str(v) for v in leaked.to_numpy().ravel() if isinstance(v, str) and v]
    canary_hits: Counter[str] = Counter()
    for cell in set(cells):
        for recipient in owner.get(_digest(cell), ()):
            canary_hits[recipient] += 1
    domains = {d: Pseudonymiser(master, d) for d in recipients_of}
    domain_hits = Counter(d for cell in set(cells) for d, p in domains.items() if p.owns(cell))
    domain = domain_hits.most_common(1)[0][0] if domain_hits else None
    if canary_hits:
        recipient = canary_hits.most_common(1)[0][0]
        return Trace(recipient, domain, dict(canary_hits), dict(domain_hits), [recipient])
    candidates = sorted(recipients_of.get(domain, ())) if domain else []
    return Trace(candidates[0] if len(candidates) == 1 else None, domain, {}, dict(domain_hits), candidates)
