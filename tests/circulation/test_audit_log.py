"""The audit log: every kind of tampering with the SQLite store is detected; proofs verify."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest

from citydata.circulation.audit_log import AuditLog
from citydata.circulation.audit_verify import inclusion_proof, verify_log
from citydata.circulation.checkpoints import Checkpoint, load_signing_key, sign_checkpoint
from citydata.circulation.merkle import leaf_hash, verify_inclusion
from citydata.circulation.metering import metering
from citydata.errors import CityDataError


def _fill(log: AuditLog, n: int = 12) -> None:
    for i in range(n):
        log.append(["download", "restricted_read", "grant"][i % 3], "steward-1",
                   consumer=f"consumer-{i % 2}", dataset="population.persons", rows=10 * i)


def _tamper(log: AuditLog, *sql: str) -> None:
    """What an operator with file access could do: drop the guards, then change rows."""
    db = sqlite3.connect(log.path)
    db.executescript("drop trigger entries_no_update; drop trigger entries_no_delete;")
    for statement in sql:
        db.execute(statement)
    db.commit()
    db.close()


def test_untouched_log_verifies_with_every_proof(audit_log: AuditLog) -> None:
    _fill(audit_log)
    report = verify_log(audit_log)
    assert report.ok, report.problems
    assert report.entries == 12 and report.inclusion_proofs == 12
    assert report.consistency_proofs == 13  # 12 stored checkpoints + the witness


def test_triggers_refuse_updates_and_deletes(audit_log: AuditLog) -> None:
    _fill(audit_log, 2)
    db = sqlite3.connect(audit_log.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("update entries set entry = 'x' where seq = 0")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("delete from entries where seq = 1")


def test_edited_entry_is_detected_and_located(audit_log: AuditLog) -> None:
    _fill(audit_log)
    text = dict(audit_log.raw_entries())[5].replace('"rows":50', '"rows":5')
    _tamper(audit_log, f"update entries set entry = '{text}' where seq = 5")
    report = verify_log(audit_log)
    assert not report.ok
    assert "checkpoint 6 (size 6) does not match" in "\n".join(report.problems)
    assert not any("checkpoint 5 " in p for p in report.problems)  # entries 0…4 still proven


def test_deleted_entry_is_detected(audit_log: AuditLog) -> None:
    _fill(audit_log)
    _tamper(audit_log, "delete from entries where seq = 3")
    report = verify_log(audit_log)
    assert any("entry 3 is missing" in p for p in report.problems)


def test_renumbered_deletion_is_detected(audit_log: AuditLog) -> None:
    """Delete entry 3 and renumber the rest so the sequence has no gap: the roots give it away."""
    _fill(audit_log, 6)
    rows = audit_log.raw_entries()
    statements = ["delete from entries"]
    for new, (_, text) in enumerate(r for r in rows if r[0] != 3):
        entry = json.loads(text) | {"seq": new}
        statements.append(f"insert into entries values ({new}, '{json.dumps(entry, sort_keys=True, separators=(',', ':'))}')")
    _tamper(audit_log, *statements)
    assert not verify_log(audit_log).ok


def test_swapped_entries_are_detected(audit_log: AuditLog) -> None:
    _fill(audit_log)
    rows = dict(audit_log.raw_entries())
    _tamper(audit_log, f"update entries set entry = '{rows[7]}' where seq = 2",
            f"update entries set entry = '{rows[2]}' where seq = 7")
    report = verify_log(audit_log)
    assert not report.ok
    assert any("checkpoint 3 (size 3) does not match" in p for p in report.problems)


def test_truncation_with_its_checkpoints_is_caught_by_the_witness(audit_log: AuditLog) -> None:
    _fill(audit_log)
    _tamper(audit_log, "delete from entries where seq >= 9", "delete from checkpoints where size > 9")
    report = verify_log(audit_log)
    assert any("witness checkpoint covers 12 entries but the log holds 9 (truncated)" in p for p in report.problems)


def test_checkpoint_kept_by_a_consumer_catches_a_rewritten_history(audit_log: AuditLog, tmp_path: Path) -> None:
    """An operator who also holds the key rewrites everything; a consumer's old checkpoint still fails."""
    _fill(audit_log, 4)
    kept = audit_log.checkpoints()[-1]
    _tamper(audit_log, "delete from entries", "delete from checkpoints")
    with AuditLog(audit_log.path, audit_log.key) as forger:
        for i in range(5):
            forger.append("grant", "someone-else", consumer=f"c{i}")
    assert verify_log(audit_log).ok  # self-consistent forgery…
    report = verify_log(audit_log, kept=[kept])
    assert any("kept checkpoint (size 4) does not match" in p for p in report.problems)  # …but not to the consumer


def test_forged_checkpoint_signature_is_rejected(audit_log: AuditLog, tmp_path: Path) -> None:
    _fill(audit_log, 3)
    other = load_signing_key(None, tmp_path / "other.key")
    forged = sign_checkpoint(other, audit_log.origin, 3, audit_log.checkpoints()[-1].root)
    report = verify_log(audit_log, kept=[forged])
    assert any("no valid signature" in p for p in report.problems)


def test_receipt_verifies_with_only_the_public_key(audit_log: AuditLog) -> None:
    _fill(audit_log, 9)
    receipt = inclusion_proof(audit_log, 4)
    cp = Checkpoint.from_json(json.dumps(receipt["checkpoint"]))
    assert verify_inclusion(leaf_hash(receipt["entry"].encode()), 4, cp.size,
                            [bytes.fromhex(h) for h in receipt["path"]], cp.root)
    with pytest.raises(CityDataError, match="no audit entry 9"):
        inclusion_proof(audit_log, 9)


def test_key_file_is_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "k" / "audit.key"
    key = load_signing_key(None, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(None, path).public_key().public_bytes_raw() == key.public_key().public_bytes_raw()
    path.chmod(0o644)
    with pytest.raises(CityDataError, match="chmod 600"):
        load_signing_key(None, path)


def test_unknown_action_is_refused(audit_log: AuditLog) -> None:
    with pytest.raises(CityDataError, match="audit action 'peek'"):
        audit_log.append("peek", "x")


def test_metering_per_consumer(audit_log: AuditLog) -> None:
    _fill(audit_log, 6)  # i=0 download c0, 1 read c1, 2 grant c0, 3 download c1, 4 read c0, 5 grant c1
    report = metering(audit_log.entries())
    assert report == {"consumer-0": {"requests": 2, "rows": 40, "downloads": 1, "datasets": 1},
                      "consumer-1": {"requests": 2, "rows": 40, "downloads": 1, "datasets": 1}}


def test_appends_from_fresh_handles_use_the_stored_edge_and_a_forged_edge_is_caught(audit_log: AuditLog) -> None:
    """Each portal request opens the log anew: its append must not re-read every entry (the right edge
    is stored), and whatever the stored edge says, verification recomputes the roots from the entries."""
    path, key = audit_log.path, audit_log.key
    for i in range(7):  # a new handle per append, as the portal's requests do
        with AuditLog(path, key) as log:
            log.append("restricted_read", f"reader-{i}", dataset="population.persons", rows=i)
            rebuilt = log._edge(-1)  # a size no stored edge has: rebuilt from every entry
            assert rebuilt.root() == log._range.root() and rebuilt.size == i + 1
    assert verify_log(audit_log).ok
    db = sqlite3.connect(path)
    db.execute("update edge set peaks = ?", (json.dumps([[7, "00" * 32]]),))
    db.commit()
    db.close()
    with AuditLog(path, key) as log:
        log.append("restricted_read", "reader-x", dataset="population.persons", rows=1)
    report = verify_log(audit_log)
    assert not report.ok and any("checkpoint" in p for p in report.problems)


def _append_many(path: str, key_path: str, worker: int, n: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    key = load_signing_key(None, Path(key_path))

    def one(i: int) -> None:
        with AuditLog(Path(path), key) as log:  # a handle per append, as the portal's requests open it
            log.append("restricted_read", f"reader-{worker}-{i}", dataset="population.persons", rows=i)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(n)))


def test_concurrent_appends_from_processes_and_threads_keep_one_verifiable_log(tmp_path: Path) -> None:
    import multiprocessing

    key_path = tmp_path / "keys" / "audit.key"
    key = load_signing_key(None, key_path)
    path = tmp_path / "audit" / "audit.sqlite"
    AuditLog(path, key).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(path), str(key_path), w, 25)) for w in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    with AuditLog(path, key) as log:
        report = verify_log(log)
        assert report.ok, report.problems
        assert report.entries == 50 and log.witness().size == 50
        assert sorted(e["actor"] for e in log.entries()) == sorted(f"reader-{w}-{i}" for w in range(2) for i in range(25))
