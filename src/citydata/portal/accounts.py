"""Portal accounts: users (argon2-hashed passwords), server-side sessions (each with its CSRF token)
and API keys (shown once, stored as SHA-256; keys are 256-bit random, so a fast hash is enough).

One SQLite file (``Settings.accounts_path``), opened per request. A user is what release needs to
know of a reader: an id, a role of ``policies/masking.yaml``, the department they work for (staff,
stewards) and their consumer domain (whose pseudonyms they receive). Time is a parameter.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from citydata.circulation.grants import Actor
from citydata.circulation.sqlite_file import SqliteFile
from citydata.errors import CityDataError

_SCHEMA = """
create table if not exists users (
  id text primary key, password_hash text not null, role text not null, department text, domain text,
  display_name text not null, created_at text not null);
create table if not exists sessions (
  token_hash text primary key, user_id text not null references users(id), csrf text not null,
  expires_at text not null);
create table if not exists api_keys (
  id integer primary key autoincrement, user_id text not null references users(id), label text not null,
  prefix text not null, key_hash text not null unique, created_at text not null, revoked_at text);
"""
ROLES = ("registered_consumer", "department_staff", "bureau_analyst", "steward", "admin")
KEY_PREFIX = "cdk_"
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    id: str
    role: str
    department: str | None
    domain: str | None
    display_name: str

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.role, self.department, self.domain)


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


@dataclass(frozen=True)
class ApiKey:
    id: int
    user_id: str
    label: str
    prefix: str
    created_at: str
    revoked_at: str | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _at(now: datetime) -> str:
    if now.tzinfo is None:
        raise CityDataError("account times need a time zone")
    return now.isoformat(timespec="seconds")


class AccountStore(SqliteFile):
    def __init__(self, path: Path):
        super().__init__(path, _SCHEMA)
        self._db.row_factory = sqlite3.Row

    # -- users -----------------------------------------------------------------------------------

    def add_user(self, user_id: str, password: str, role: str, *, now: datetime, department: str | None = None,
                 domain: str | None = None, display_name: str | None = None, replace: bool = False) -> User:
        if role not in ROLES:
            raise CityDataError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if len(password) < 10:
            raise CityDataError(f"password for {user_id} is {len(password)} characters: use at least 10")
        if role in ("steward", "department_staff") and not department:
            raise CityDataError(f"a {role} needs a department (--department)")
        verb = "insert or replace" if replace else "insert"
        try:
            self._db.execute(
                f"{verb} into users (id, password_hash, role, department, domain, display_name, created_at)"
                " values (?, ?, ?, ?, ?, ?, ?)",
                (user_id, _hasher.hash(password), role, department, domain, display_name or user_id, _at(now)))
        except sqlite3.IntegrityError:
            raise CityDataError(f"user {user_id} already exists") from None
        return self.user(user_id)

    def user(self, user_id: str) -> User:
        row = self._db.execute("select id, role, department, domain, display_name from users where id = ?",
                               (user_id,)).fetchone()
        if row is None:
            raise CityDataError(f"no user {user_id!r}")
        return User(**dict(row))

    def users(self) -> list[User]:
        rows = self._db.execute("select id, role, department, domain, display_name from users order by id")
        return [User(**dict(r)) for r in rows]

    def authenticate(self, user_id: str, password: str) -> User | None:
        """The user if the password is theirs; rehashes a hash made with weaker parameters."""
        row = self._db.execute("select password_hash from users where id = ?", (user_id,)).fetchone()
        if row is None:
            _hasher.hash(password)  # same work whether or not the user exists
            return None
        try:
            _hasher.verify(row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        if _hasher.check_needs_rehash(row["password_hash"]):
            self._db.execute("update users set password_hash = ? where id = ?", (_hasher.hash(password), user_id))
        return self.user(user_id)

    # -- sessions --------------------------------------------------------------------------------

    def open_session(self, user: User, *, now: datetime, hours: int) -> str:
        """A new session token (the cookie's value); only its hash is stored."""
        token = secrets.token_urlsafe(32)
        self._db.execute("delete from sessions where expires_at < ?", (_at(now),))
        self._db.execute("insert into sessions (token_hash, user_id, csrf, expires_at) values (?, ?, ?, ?)",
                         (_digest(token), user.id, secrets.token_urlsafe(32), _at(now + timedelta(hours=hours))))
        return token

    def session(self, token: str, *, now: datetime) -> Session | None:
        row = self._db.execute("select user_id, csrf, expires_at from sessions where token_hash = ?",
                               (_digest(token),)).fetchone()
        if row is None or datetime.fromisoformat(row["expires_at"]) < now:
            return None
        return Session(self.user(row["user_id"]), row["csrf"])

    def close_session(self, token: str) -> None:
        self._db.execute("delete from sessions where token_hash = ?", (_digest(token),))

    # -- API keys --------------------------------------------------------------------------------

    def issue_key(self, user: User, label: str, *, now: datetime) -> tuple[ApiKey, str]:
        """A new key for ``user``: (its record, the secret — shown once, never stored)."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        cur = self._db.execute(
            "insert into api_keys (user_id, label, prefix, key_hash, created_at) values (?, ?, ?, ?, ?)",
            (user.id, label.strip()[:80] or "key", secret[:12], _digest(secret), _at(now)))
        return self.key(int(cur.lastrowid or 0), user), secret

    def key(self, key_id: int, owner: User) -> ApiKey:
        """Key ``key_id`` if ``owner`` owns it (another user's key is as absent as a missing one)."""
        row = self._db.execute("select id, user_id, label, prefix, created_at, revoked_at from api_keys"
                               " where id = ? and user_id = ?", (key_id, owner.id)).fetchone()
        if row is None:
            raise CityDataError(f"you have no API key {key_id}")
        return ApiKey(**dict(row))

    def keys(self, owner: User) -> list[ApiKey]:
        rows = self._db.execute("select id, user_id, label, prefix, created_at, revoked_at from api_keys"
                                " where user_id = ? order by id", (owner.id,))
        return [ApiKey(**dict(r)) for r in rows]

    def revoke_key(self, key_id: int, owner: User, *, now: datetime) -> ApiKey:
        self.key(key_id, owner)
        self._db.execute("update api_keys set revoked_at = coalesce(revoked_at, ?) where id = ?", (_at(now), key_id))
        return self.key(key_id, owner)

    def user_for_key(self, secret: str) -> User | None:
        if not secret.startswith(KEY_PREFIX):
            return None
        row = self._db.execute("select user_id from api_keys where key_hash = ? and revoked_at is null",
                               (_digest(secret),)).fetchone()
        return self.user(row["user_id"]) if row else None


# The demo's accounts (`citydata demo` seeds them with Settings.portal.demo_password): one consumer
# company, the bureau's analyst, a steward per department that owns a conditional dataset, an admin.
DEMO_USERS: tuple[dict[str, str | None], ...] = (
    {"user_id": "company.acme", "role": "registered_consumer", "domain": "acme",
     "display_name": "示例科技有限公司 (Acme Tech Co.)"},
    {"user_id": "analyst.bureau", "role": "bureau_analyst", "department": "data_bureau", "domain": "bureau",
     "display_name": "大数据中心分析员 (bureau analyst)"},
    {"user_id": "steward.bureau", "role": "steward", "department": "data_bureau",
     "display_name": "大数据中心数据管理员 (bureau steward)"},
    {"user_id": "steward.hrss", "role": "steward", "department": "hrss",
     "display_name": "人社局数据管理员 (HRSS steward)"},
    {"user_id": "steward.health", "role": "steward", "department": "health",
     "display_name": "卫健委数据管理员 (health steward)"},
    {"user_id": "admin", "role": "admin", "display_name": "系统管理员 (administrator)"},
)


def seed_demo_users(store: AccountStore, password: str, now: datetime) -> list[User]:
    """The demo accounts, (re)created with ``password``."""
    return [store.add_user(password=password, now=now, replace=True, **u) for u in DEMO_USERS]  # type: ignore[arg-type]
