"""Ctrl-C during a demo stops every service it started: no PostgreSQL or broker is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from citydata.settings import PROJECT_ROOT


def _service_pids(demo: psutil.Process) -> set[int]:
    """The PostgreSQL servers and brokers this demo started (its descendants: other tests' services on
    the machine are not its own)."""
    pids = set()
    try:
        children = demo.children(recursive=True)
    except psutil.NoSuchProcess:
        return pids
    for p in children:
        try:
            cmd = " ".join(p.cmdline() or [])
            if "tansu" in cmd or ("citydata-pg-" in cmd and "postgres" in p.name()):
                pids.add(p.pid)
        except psutil.NoSuchProcess:
            continue
    return pids


def _running(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.add(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def test_ctrl_c_leaves_nothing_running(tmp_path):
    env = {**os.environ, "CITYDATA_VAR_DIR": str(tmp_path)}
    # As from a terminal: Ctrl-C at its default disposition. A process started with SIGINT ignored (as a
    # library run earlier in this pytest process can leave it, and children inherit it) ignores Ctrl-C.
    proc = subprocess.Popen([sys.executable, "-m", "citydata.cli", "demo", "--no-serve", "--persons", "300"],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    demo = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    started: set[int] = set()
    while time.monotonic() < deadline and not started and proc.poll() is None:
        started = _service_pids(demo)
        time.sleep(0.2)
    assert started, "the demo never started its services"
    time.sleep(2)
    started |= _service_pids(demo)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert "interrupted" in err
    time.sleep(0.5)
    assert not _running(started), "services left running after Ctrl-C"
