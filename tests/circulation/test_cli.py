"""The commands end to end in a subprocess: ``audit verify``, ``audit meter``, ``trace-leak``."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
from tests.circulation.conftest import MASTER_SECRET

from citydata.circulation.context import open_audit_log
from citydata.circulation.masking import load_masking
from citydata.circulation.pseudonyms import Pseudonymiser
from citydata.circulation.watermark import issue_extract
from citydata.settings import PROJECT_ROOT, Settings


def _cli(var: Path, *args: str, secret: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYDATA_")}
    env["CITYDATA_VAR_DIR"] = str(var)
    if secret:
        env["CITYDATA_CIRCULATION__MASTER_SECRET"] = MASTER_SECRET.decode()
    return subprocess.run([sys.executable, "-m", "citydata.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=PROJECT_ROOT)


def test_verify_meter_and_trace_from_the_command_line(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    frame = pd.DataFrame({"id_number": [f"1201061985113052{i:02d}" for i in range(60)], "status": "active"})
    with open_audit_log(settings) as log:
        log.append("grant", "steward-1", consumer="clinic-a", dataset="hrss.enrolments")
        extract = issue_extract(frame, {"id_number": "L4", "status": "L1"}, recipient="clinic-a",
                                role="registered_consumer", dataset="hrss.enrolments",
                                policy=load_masking(PROJECT_ROOT / "policies"), log=log,
                                domain=Pseudonymiser(MASTER_SECRET, "health"), master=MASTER_SECRET)
        db_path = log.path
    extract.sample(frac=0.3, random_state=1).to_csv(tmp_path / "leak.csv", index=False)

    ok = _cli(tmp_path, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "audit log verified: 2 entries" in ok.stdout
    meter = _cli(tmp_path, "audit", "meter")
    assert "clinic-a" in meter.stdout and "60" in meter.stdout
    traced = _cli(tmp_path, "trace-leak", str(tmp_path / "leak.csv"))
    assert traced.returncode == 0, traced.stderr
    assert "issued to clinic-a" in traced.stdout

    no_secret = _cli(tmp_path, "trace-leak", str(tmp_path / "leak.csv"), secret=False)
    assert no_secret.returncode == 2 and "Traceback" not in no_secret.stderr
    assert no_secret.stderr.strip().count("\n") == 0 and "CITYDATA_CIRCULATION__MASTER_SECRET" in no_secret.stderr

    db = sqlite3.connect(db_path)
    db.executescript("drop trigger entries_no_update; update entries set entry = replace(entry, 'clinic-a', "
                     "'clinic-z') where seq = 0;")
    db.close()
    bad = _cli(tmp_path, "audit", "verify")
    assert bad.returncode == 2
    assert "checkpoint 1 (size 1) does not match" in bad.stdout
    assert "failed verification" in bad.stderr and "Traceback" not in bad.stderr
