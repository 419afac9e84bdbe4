"""Verifying the audit log: signatures, consistency between checkpoints, inclusion of every entry.

What is checked, against the entries as stored:

1. entry ``seq`` values run 0…n−1 and each entry names its own position (a deleted or moved row
   shows here first);
2. every checkpoint (stored ones, the witness file, any the caller kept) carries a valid signature
   of this log's origin;
3. each checkpoint's root equals the Merkle root of that many entries — so the first checkpoint
   that fails names where an edit starts;
4. RFC 9162 consistency proofs from every checkpoint to the newest one verify;
5. an RFC 9162 inclusion proof of every entry verifies against the newest checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from citydata.circulation.audit_log import AuditLog
from citydata.circulation.checkpoints import Checkpoint, signature_valid
from citydata.circulation.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from citydata.errors import CityDataError


@dataclass
class Verification:
    entries: int = 0
    checkpoints: int = 0
    inclusion_proofs: int = 0
    consistency_proofs: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_positions(rows: list[tuple[int, str]], report: Verification) -> None:
    for i, (seq, text) in enumerate(rows):
        if seq != i:
            report.problems.append(f"entry {i} is missing: the next stored entry is {seq} (deleted)")
            return
        try:
            claimed = json.loads(text).get("seq")
        except ValueError:
            claimed = None
        if claimed != i:
            report.problems.append(f"entry at position {i} says it is entry {claimed} (moved or rewritten)")
            return


def _check_checkpoint(tree: MerkleTree, public: Ed25519PublicKey, origin: str, cp: Checkpoint,
                      label: str, report: Verification) -> bool:
    if cp.origin != origin or not signature_valid(public, cp):
        report.problems.append(f"{label} (size {cp.size}) has no valid signature of {origin}")
        return False
    if cp.size > tree.size:
        report.problems.append(f"{label} covers {cp.size} entries but the log holds {tree.size} (truncated)")
        return False
    if tree.root(cp.size) != cp.root:
        report.problems.append(f"{label} (size {cp.size}) does not match the stored entries: "
                               f"an entry before {cp.size} was edited, deleted or re-ordered")
        return False
    return True


def verify_log(log: AuditLog, public: Ed25519PublicKey | None = None,
               kept: list[Checkpoint] | None = None) -> Verification:
    """Everything in the module docstring; ``kept`` are checkpoints held outside the log."""
    public = public or log.public_key
    rows = log.raw_entries()
    report = Verification(entries=len(rows))
    _check_positions(rows, report)
    tree = MerkleTree([leaf_hash(text.encode()) for _, text in rows])
    stored = log.checkpoints()
    labelled = [(f"checkpoint {cp.size}", cp) for cp in stored]
    witness = log.witness()
    if witness is not None:
        labelled.append(("the witness checkpoint", witness))
    labelled += [("the kept checkpoint", cp) for cp in kept or []]
    report.checkpoints = len(labelled)
    good = [cp for label, cp in labelled if _check_checkpoint(tree, public, log.origin, cp, label, report)]
    if tree.size and not any(cp.size == tree.size for cp in good):
        report.problems.append(f"no valid checkpoint covers all {tree.size} entries (appended outside the log "
                               "or the newest entries were edited)")
    if not good:
        return report
    newest = max(good, key=lambda cp: cp.size)
    for cp in good:
        proof = tree.consistency_proof(cp.size, newest.size)
        report.consistency_proofs += 1
        if not verify_consistency(cp.size, newest.size, cp.root, newest.root, proof):
            report.problems.append(f"checkpoint {cp.size} is not consistent with checkpoint {newest.size}")
    for i in range(newest.size):
        report.inclusion_proofs += 1
        if not verify_inclusion(tree.leaves[i], i, newest.size, tree.inclusion_path(i, newest.size), newest.root):
            report.problems.append(f"entry {i} is not included in checkpoint {newest.size}")
    return report


def inclusion_proof(log: AuditLog, seq: int) -> dict:
    """An entry with its inclusion proof against the newest stored checkpoint — what a consumer is
    given as a receipt and can check with only the public key."""
    rows = log.raw_entries()
    if not 0 <= seq < len(rows):
        raise CityDataError(f"no audit entry {seq}: the log holds entries 0…{len(rows) - 1}")
    tree = MerkleTree([leaf_hash(text.encode()) for _, text in rows])
    newest = log.checkpoints()[-1]
    return {"entry": rows[seq][1], "index": seq, "checkpoint": json.loads(newest.to_json()),
            "path": [h.hex() for h in tree.inclusion_path(seq, newest.size)]}
