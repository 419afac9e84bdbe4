"""Ctrl-C during a demo stops every service it started: no PostgreSQL or broker is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from citydata.settings import PROJECT_ROOT


def _service_pids() -> set[int]:
    pids = set()
    for p in psutil.process_iter(["pid", "name", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "tansu" in cmd or ("citydata-pg-" in cmd and "postgres" in (p.info["name"] or "")):
            pids.add(p.info["pid"])
    return pids


def test_ctrl_c_leaves_nothing_running(tmp_path):
    before = _service_pids()
    env = {**os.environ, "CITYDATA_VAR_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "citydata.cli", "demo", "--no-serve", "--persons", "300"],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (_service_pids() - before):
        time.sleep(0.2)
    started = _service_pids() - before
    assert started, "the demo never started its services"
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert "interrupted" in err
    time.sleep(0.5)
    assert not (_service_pids() - before), "services left running after Ctrl-C"
