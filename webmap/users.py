"""Union dashboard accounts (the ``users`` table), created with ``nuanxin users``.

Passwords are stored only as werkzeug hashes (scrypt). :func:`authenticate` spends the same
time on unknown names as on wrong passwords. Changing a password revokes every session of
the account in the store (:mod:`webmap.sessions`) and removing the account deletes them, in
the same transaction. :func:`session_token` derives a short value from the stored hash; the
dashboard also keeps it in the session cookie and drops sessions whose token no longer
matches, a second guard for a hash changed by any other path.

The rows are read and written by :mod:`stations.accounts`; this module holds the rules.
"""

from __future__ import annotations

import hashlib
import re

from werkzeug.security import check_password_hash, generate_password_hash

from stations import accounts, settings
from stations.errors import NotFoundError, ValidationError
from stations.store import Store
from webmap.sessions import utcnow

__all__ = [
    "ROLES",
    "MIN_PASSWORD_LENGTH",
    "add_user",
    "set_password",
    "remove_user",
    "list_users",
    "get_user",
    "authenticate",
    "session_token",
]

ROLES = ("admin", "staff")
MIN_PASSWORD_LENGTH = 10
_NAME = re.compile(r"^[\w.@-]{2,64}$")
_DUMMY_HASH = generate_password_hash("nuanxin-timing-equaliser")


def _check_name(username: str) -> str:
    name = (username or "").strip()
    if not _NAME.match(name):
        raise ValidationError(
            f"用户名无效 {username!r} (username: 2-64 letters, digits, Chinese characters or "
            "._@-, no spaces)")
    return name


def _check_password(password: str) -> str:
    if password is None or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"密码太短 (password must have at least {MIN_PASSWORD_LENGTH} "
                              "characters)")
    if len(password) > 1024:
        raise ValidationError("密码太长 (password longer than 1024 characters)")
    return password


def _public(row) -> dict:
    return {"id": row["id"], "username": row["username"], "role": row["role"],
            "district": row["district"], "street": row["street"],
            "created_at": row["created_at"].isoformat() if row["created_at"] else None}


def add_user(store: Store, username: str, password: str, *, role: str = "staff",
             district: str = "", street: str = "") -> dict:
    """Create an account; :class:`ValidationError` when the name is taken or invalid."""
    name = _check_name(username)
    _check_password(password)
    if role not in ROLES:
        raise ValidationError(f"角色无效 {role!r} (role must be one of {', '.join(ROLES)})")
    added = accounts.add_account(
        store, username=name, password_hash=generate_password_hash(password), role=role,
        district=district or "", street=street or "",
        created_at=settings.wall_now())
    if added is None:
        raise ValidationError(f"用户 {name} 已存在 (user exists; use `nuanxin users passwd`)")
    return get_user(store, username=name)


def _no_such_user(name: str) -> NotFoundError:
    return NotFoundError(f"没有用户 {name} (no such user)")


def set_password(store: Store, username: str, password: str) -> None:
    """Replace a user's password and end every session of theirs."""
    name = _check_name(username)
    password_hash = generate_password_hash(_check_password(password))
    if not accounts.set_password_hash(store, name, password_hash, now=utcnow()):
        raise _no_such_user(name)


def remove_user(store: Store, username: str) -> None:
    """Delete an account and its sessions."""
    name = _check_name(username)
    if not accounts.delete_account(store, name):
        raise _no_such_user(name)


def list_users(store: Store) -> list[dict]:
    """Every account (no hashes)."""
    return [_public(r) for r in accounts.list_accounts(store)]


def get_user(store: Store, user_id: int | None = None, *, username: str | None = None
             ) -> dict | None:
    """One account by id or name (with its ``token``), or ``None``."""
    if user_id is not None:
        row = accounts.get_account(store, user_id=int(user_id))
    elif username is not None:
        row = accounts.get_account(store, username=username.strip())
    else:
        return None
    if row is None:
        return None
    out = _public(row)
    out["token"] = session_token(row["password_hash"])
    return out


def session_token(password_hash: str) -> str:
    """A short value derived from the stored hash (changes when the password changes)."""
    return hashlib.sha256(("nuanxin-session:" + password_hash).encode()).hexdigest()[:24]


def authenticate(store: Store, username: str, password: str) -> dict | None:
    """The account when the password matches, else ``None`` (same work either way)."""
    name = (username or "").strip()
    row = accounts.get_account(store, username=name)
    if row is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(row["password_hash"], password or ""):
        return None
    out = _public(row)
    out["token"] = session_token(row["password_hash"])
    return out
