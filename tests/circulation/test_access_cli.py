"""``citydata access …`` end to end in a subprocess, then ``citydata audit verify`` over what it logged."""

from __future__ import annotations

from pathlib import Path

from tests.circulation.test_cli import _cli


def _ok(var: Path, *args: str) -> str:
    done = _cli(var, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_request_decide_revoke_list_and_verify(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich tables at a terminal's width, not 80
    out = _ok(tmp_path, "access", "request", "population.persons", "--consumer", "clinic-a", "--domain", "health",
              "--purpose", "social_assistance", "--rows", "500", "--downloads", "1", "--days", "14")
    assert "access request 1: clinic-a → population.persons" in out and "pending a steward of data_bureau" in out

    wrong = _cli(tmp_path, "access", "approve", "1", "--steward", "steward.hrss")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert wrong.stderr.strip().count("\n") == 0 and "cannot decide on population.persons" in wrong.stderr

    assert "grant 1: clinic-a may use population.persons" in _ok(tmp_path, "access", "approve", "1",
                                                           "--steward", "steward.bureau")
    listed = _ok(tmp_path, "access", "list", "--consumer", "clinic-a")
    assert "active" in listed and "0/500" in listed
    _ok(tmp_path, "access", "request", "population.persons", "--consumer", "bank-c", "--purpose", "social_assistance",
        "--rows", "10")
    _ok(tmp_path, "access", "reject", "2", "--steward", "steward.bureau", "--reason", "no legal basis")
    assert "revoked" in _ok(tmp_path, "access", "revoke", "1", "--steward", "steward.bureau", "--reason", "done")
    listed = _ok(tmp_path, "access", "list")
    assert "revoked" in listed and "rejected" in listed

    too_much = _cli(tmp_path, "access", "request", "population.persons", "--consumer", "x", "--purpose", "marketing",
                    "--rows", "10")
    assert too_much.returncode == 2 and "purpose 'marketing': must be one of" in too_much.stderr
    assert '"@type": "Offer"' in _ok(tmp_path, "access", "policy", "population.persons")

    verified = _ok(tmp_path, "audit", "verify")
    assert "audit log verified: 6 entries" in verified  # request, approve, grant, request, reject, revoke
