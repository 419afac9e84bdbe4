"""Sign-in, CSRF, security headers and the serving copy, on the portal of a real demo run."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.portal.conftest import DEMO_PASSWORD, sign_in


def _csrf(client: TestClient, path: str = "/login") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def test_security_headers_on_pages_and_api(portal: TestClient) -> None:
    for path in ("/login", "/api/3/action/package_list", "/static/style.css", "/no-such-page"):
        headers = portal.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY"
        assert "script-src 'self';" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_sign_in_sets_a_hardened_session_cookie_and_sign_out_ends_it(portal: TestClient) -> None:
    token = _csrf(portal)
    response = portal.post("/login", data={"user_id": "company.acme", "password": DEMO_PASSWORD,
                                           "csrf_token": token, "next": "/search"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/search"
    cookie = response.headers["set-cookie"]
    assert "citydata_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert 'id="logout"' in portal.get("/login").text
    session_csrf = _csrf(portal)
    assert session_csrf != token  # a session has its own token
    assert portal.post("/logout", data={"csrf_token": session_csrf}, follow_redirects=False).status_code == 303
    assert 'id="nav-login"' in portal.get("/login").text


def test_wrong_password_and_missing_csrf_are_refused(portal: TestClient) -> None:
    wrong = portal.post("/login", data={"user_id": "company.acme", "password": "not-the-password",
                                        "csrf_token": _csrf(portal)})
    assert wrong.status_code == 401 and 'id="login-error"' in wrong.text
    forged = portal.post("/login", data={"user_id": "company.acme", "password": DEMO_PASSWORD,
                                         "csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403 and "Traceback" not in forged.text
    assert "citydata_session" not in forged.headers.get("set-cookie", "")


def test_open_redirect_after_login_is_refused(portal: TestClient) -> None:
    response = portal.post("/login", data={"user_id": "company.acme", "password": DEMO_PASSWORD,
                                           "csrf_token": _csrf(portal), "next": "//evil.example/x"},
                           follow_redirects=False)
    assert response.headers["location"] == "/"


def test_language_switch_is_remembered(portal: TestClient) -> None:
    assert "Sign in" not in portal.get("/login").text
    portal.get("/lang/en?next=/login")
    assert "<h1>Sign in</h1>" in portal.get("/login").text


def test_sign_in_helper(portal: TestClient) -> None:
    sign_in(portal, "steward.bureau")
    assert 'id="nav-steward"' in portal.get("/login").text
