"""Bad input and environment: one clear line, a non-zero exit, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from citydata.errors import CityDataError
from citydata.services import postgres as pg_module
from citydata.services.postgres import EmbeddedPostgres
from citydata.settings import PROJECT_ROOT


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "citydata.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120, cwd=PROJECT_ROOT)


def _one_clean_line(res: subprocess.CompletedProcess) -> str:
    assert res.returncode != 0
    assert "Traceback" not in res.stderr + res.stdout
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    return lines[0]


def test_malformed_connector_yaml_names_file_and_field(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "name: bad\ntype: oracle\ndepartment: {code: x, name_zh: 某局, name_en: X}\n"
        "connection: {database: x}\ntopic_prefix: bad\ntables: [{schema: s, name: t, primary_key: [id]}]\n")
    line = _one_clean_line(_cli("connectors", env={"CITYDATA_CONNECTORS_DIR": str(tmp_path)}))
    assert "bad.yaml" in line and "'type'" in line and "postgres" in line


def test_broken_yaml_syntax(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    line = _one_clean_line(_cli("connectors", env={"CITYDATA_CONNECTORS_DIR": str(tmp_path)}))
    assert "broken.yaml" in line and "YAML" in line


def test_unknown_department():
    line = _one_clean_line(_cli("connectors", "police_of_atlantis"))
    assert "police_of_atlantis" in line and "public_security" in line


def test_busy_portal_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        line = _one_clean_line(_cli("demo", "--port", str(port)))
    assert str(port) in line and "--port" in line


def test_no_postgresql_found(monkeypatch):
    monkeypatch.setattr(pg_module.shutil, "which", lambda name: None)
    monkeypatch.setattr(pg_module.glob, "glob", lambda pattern: [])
    with pytest.raises(CityDataError, match="initdb was not found.*install PostgreSQL"):
        EmbeddedPostgres().start()


def test_busy_postgres_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(CityDataError, match="already in use"):
            EmbeddedPostgres(port=s.getsockname()[1])


def test_bad_setting_value():
    line = _one_clean_line(_cli("connectors", env={"CITYDATA_SYNTH__PERSONS": "many"}))
    assert "CITYDATA_SYNTH__PERSONS" in line


def test_unexpected_error_is_one_line_with_traceback_in_a_file(tmp_path):
    # an expectations directory holding a suite that names no real expectation class would be a
    # CityDataError; a var dir that is a file is an environment the code does not anticipate
    var = tmp_path / "var"
    var.write_text("not a directory")
    line = _one_clean_line(_cli("demo", "--no-serve", "--persons", "50",
                                env={"CITYDATA_VAR_DIR": str(var), "TMPDIR": str(tmp_path)}))
    assert line.startswith("internal error:") or line.startswith("error:")
    if line.startswith("internal error:"):  # the traceback went to a file the line names, not the screen
        logs = list(tmp_path.glob("citydata-crash-*.log"))
        assert len(logs) == 1 and str(logs[0]) in line and "Traceback" in logs[0].read_text()
