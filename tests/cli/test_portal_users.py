"""``citydata portal-user add|list``: accounts the portal then signs in, passwords never on the command line."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from citydata.cli import app
from citydata.portal.accounts import AccountStore
from citydata.settings import PROJECT_ROOT, Settings

PASSWORD = "correct horse battery"


def _cli(var, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "citydata.cli", "portal-user", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT,
                          env={**os.environ, "CITYDATA_VAR_DIR": str(var)})


def _authenticate(var, user: str, password: str):
    with AccountStore(Settings(var_dir=var).accounts_path) as store:
        return store.authenticate(user, password)


def test_add_from_stdin_then_list_and_sign_in(tmp_path) -> None:
    added = _cli(tmp_path, "add", "steward.tax", "--role", "steward", "--department", "tax",
                 "--display-name", "税务局数据管理员", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout + added.stderr
    user = _authenticate(tmp_path, "steward.tax", PASSWORD)
    assert (user.role, user.department, user.display_name) == ("steward", "tax", "税务局数据管理员")
    assert _authenticate(tmp_path, "steward.tax", PASSWORD + "x") is None

    listed = _cli(tmp_path, "list")
    assert listed.returncode == 0 and "steward.tax" in listed.stdout and "税务局数据管理员" in listed.stdout


def test_the_password_prompt_is_hidden_and_confirmed(tmp_path) -> None:
    runner = CliRunner()
    env = {"CITYDATA_VAR_DIR": str(tmp_path)}
    result = runner.invoke(app, ["portal-user", "add", "company.beta", "--role", "registered_consumer",
                                 "--domain", "beta"], input=f"{PASSWORD}\n{PASSWORD}\n", env=env)
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output and PASSWORD not in result.output
    assert _authenticate(tmp_path, "company.beta", PASSWORD).domain == "beta"

    mismatch = runner.invoke(app, ["portal-user", "add", "company.gamma", "--role", "registered_consumer"],
                             input=f"{PASSWORD}\nsomething else\n", env=env)
    assert mismatch.exit_code != 0 and "do not match" in mismatch.output
    with AccountStore(Settings(var_dir=tmp_path).accounts_path) as store:
        assert [u.id for u in store.users()] == ["company.beta"]


def test_bad_input_is_one_line(tmp_path) -> None:
    cases = [(("add", "x", "--role", "emperor", "--password-stdin"), PASSWORD, "emperor"),
             (("add", "x", "--role", "admin", "--password-stdin"), "short\n", "at least 10"),
             (("add", "x", "--role", "steward", "--password-stdin"), PASSWORD, "--department"),
             (("add", "x", "--role", "admin", "--password-stdin"), "", "no password")]
    for args, stdin, expected in cases:
        res = _cli(tmp_path, *args, stdin=stdin)
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert res.returncode != 0 and len(lines) == 1 and expected in lines[0], (args, res.stderr)
        assert "Traceback" not in res.stderr + res.stdout
    assert _cli(tmp_path, "add", "admin2", "--role", "admin", "--password-stdin", stdin=PASSWORD).returncode == 0
    again = _cli(tmp_path, "add", "admin2", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert again.returncode != 0 and "already exists" in again.stderr
