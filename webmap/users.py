"""Union dashboard accounts (the ``users`` table), created with ``nuanxin users``.

Passwords are stored only as werkzeug hashes (scrypt). :func:`authenticate` spends the same
time on unknown names as on wrong passwords. Changing a password revokes every session of
the account in the store (:mod:`webmap.sessions`) and removing the account deletes them, in
the same transaction. :func:`session_token` derives a short value from the stored hash; the
dashboard also keeps it in the session cookie and drops sessions whose token no longer
matches, a second guard for a hash changed by any other path.

Roles and areas (issue 10): ``admin`` (the city), ``district`` (one district), ``street`` (one
street), ``viewer`` (reads only; optionally one area). :func:`add_user` resolves ``district`` and
``street`` through the one gazetteer (any written form: ``广外`` → ``广安门外街道``) and stores the
canonical names **and** codes; an unknown place, a street outside the given district, a
``district`` account without a district or a ``street`` account without a street is a
:class:`ValidationError`. Without a role the account is an editor of the area it names (its
street, else its district, else the city), which is also how rows of the old ``staff`` role
are read (:func:`stations.scope.account_role`).

The rows are read and written by :mod:`stations.accounts`; this module holds the rules.
"""

from __future__ import annotations

import hashlib
import re

from werkzeug.security import check_password_hash, generate_password_hash

from geodata.places.assign import area_of_names
from stations import accounts, settings
from stations.errors import NotFoundError, ValidationError
from stations.scope import ROLES, Area, Scope, account_role
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
    "scope_of",
    "account_area",
]

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
    district, street = row["district"] or "", row["street"] or ""
    return {"id": row["id"], "username": row["username"],
            "role": account_role(row["role"], district=district, street=street),
            "district": district, "district_code": row.get("district_code") or "",
            "street": street, "street_code": row.get("street_code") or "",
            "created_at": settings.iso_time(row["created_at"])}


def account_area(role: str | None, district: str = "", street: str = ""):
    """``(role, Area)`` of a new account, checked: the role (``None``: the editor of the area
    given) and its area by canonical names and codes.

    Raises
    ------
    ValidationError
        An unknown or ambiguous place, a street outside the given district, a role without
        the area it needs (``district``: a district; ``street``: a street) or with one it
        cannot have (``admin``: none; ``district``: no street).
    """
    area = area_of_names(district, street, strict=True)
    role = account_role(role or "staff", district=area.district, street=area.street)
    if role == "district" and not area.district_code:
        raise ValidationError("区工会账号需要 --district (a district account needs --district)")
    if role == "district" and area.street:
        raise ValidationError("区工会账号管辖整个区，请去掉 --street 或改用 --role street "
                              "(a district account covers its whole district)")
    if role == "street" and not area.street_code:
        raise ValidationError("街道工会账号需要 --street (a street account needs --street; "
                              "--district is optional)")
    if role == "admin" and (area.district or area.street):
        raise ValidationError("市级管理员管辖全市，请去掉 --district/--street "
                              "(an admin account covers the whole city)")
    return role, area


def add_user(store: Store, username: str, password: str, *, role: str | None = None,
             district: str = "", street: str = "") -> dict:
    """Create an account; :class:`ValidationError` when the name is taken or invalid.

    Parameters
    ----------
    role : str, optional
        One of :data:`stations.scope.ROLES`; ``None`` makes an editor of the area given
        (``street`` with a street, ``district`` with a district, else ``admin``).
    district, street : str
        The account's area in any form the gazetteer accepts; stored canonical, with codes.
    """
    name = _check_name(username)
    _check_password(password)
    role, area = account_area(role, district or "", street or "")
    added = accounts.add_account(
        store, username=name, password_hash=generate_password_hash(password), role=role,
        district=area.district, street=area.street, district_code=area.district_code,
        street_code=area.street_code, created_at=settings.wall_now())
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


def scope_of(user: dict) -> Scope:
    """The :class:`~stations.scope.Scope` of an account (as :func:`get_user` returns it).

    Rows from before codes were stored are resolved through the gazetteer by name.
    """
    area = Area(district=user.get("district") or "", district_code=user.get("district_code") or "",
                street=user.get("street") or "", street_code=user.get("street_code") or "")
    if (area.district and not area.district_code) or (area.street and not area.street_code):
        area = area_of_names(area.district, area.street)
    role = account_role(user.get("role"), district=area.district, street=area.street)
    return Scope(role, area, username=user.get("username") or "")


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
