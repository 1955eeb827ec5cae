"""Union accounts: rows of the ``users`` table, and their API tokens (``api_tokens``).

Only reading and writing; the rules (valid names, password length, hashing, roles, who may
log in) live in :mod:`webmap.users`, which calls these. Rows come back as dicts with the
``password_hash``: never hand them to a template or an API answer as they are. API tokens
are stored as the SHA-256 of the token only (:mod:`webmap.auth` makes and checks them).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from stations.schema import api_tokens_table, users_table

__all__ = [
    "add_account",
    "get_account",
    "list_accounts",
    "set_password_hash",
    "delete_account",
    "add_token",
    "revoke_tokens",
    "account_by_token",
]


def add_account(store, *, username: str, password_hash: str, role: str, district: str,
                street: str, created_at: datetime, district_code: str = "",
                street_code: str = "") -> int | None:
    """Insert an account; its id, or ``None`` when the name is taken (nothing written)."""
    with store.transaction() as conn:
        if _account_id(conn, username) is not None:
            return None
        return int(conn.execute(users_table.insert().values(
            username=username, password_hash=password_hash, role=role, district=district,
            street=street, district_code=district_code, street_code=street_code,
            created_at=created_at)).inserted_primary_key[0])


def get_account(store, *, user_id: int | None = None, username: str | None = None
                ) -> dict | None:
    """One account row by id or by name, or ``None``."""
    if user_id is not None:
        where = users_table.c.id == int(user_id)
    elif username is not None:
        where = users_table.c.username == username
    else:
        return None
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(users_table).where(where)).mappings().first()
    return None if row is None else dict(row)


def list_accounts(store) -> list[dict]:
    """Every account row, by name."""
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(users_table).order_by(users_table.c.username)).mappings()]


def set_password_hash(store, username: str, password_hash: str, *, now: datetime) -> bool:
    """Replace an account's hash and revoke its live sessions, in one transaction.

    ``now`` (aware) is the revocation time; ``False`` when there is no such account.
    """
    with store.transaction() as conn:
        uid = _account_id(conn, username)
        if uid is None:
            return False
        conn.execute(users_table.update().where(users_table.c.id == uid).values(
            password_hash=password_hash))
        store.revoke_user_sessions(uid, now=now, conn=conn)
    return True


def delete_account(store, username: str) -> bool:
    """Delete an account and its sessions in one transaction; ``False`` when absent."""
    with store.transaction() as conn:
        uid = _account_id(conn, username)
        if uid is None:
            return False
        store.delete_user_sessions(uid, conn=conn)
        conn.execute(api_tokens_table.delete().where(api_tokens_table.c.user_id == uid))
        conn.execute(users_table.delete().where(users_table.c.id == uid))
    return True


def add_token(store, username: str, token_hash: str, *, now: datetime) -> bool:
    """Record a new API token (its hex SHA-256) of ``username``; ``False`` when there is no
    such account. ``now`` is aware."""
    with store.transaction() as conn:
        uid = _account_id(conn, username)
        if uid is None:
            return False
        conn.execute(api_tokens_table.insert().values(token_hash=token_hash, user_id=uid,
                                                      created_at=now))
    return True


def revoke_tokens(store, username: str, *, now: datetime) -> int | None:
    """Revoke every live API token of ``username``: how many, or ``None`` when there is no
    such account."""
    with store.transaction() as conn:
        uid = _account_id(conn, username)
        if uid is None:
            return None
        t = api_tokens_table
        return int(conn.execute(t.update().where(t.c.user_id == uid, t.c.revoked_at.is_(None))
                                .values(revoked_at=now)).rowcount)


def account_by_token(store, token_hash: str) -> dict | None:
    """The account row whose live (not revoked) token has this hash, or ``None``."""
    t = api_tokens_table
    query = (sa.select(users_table).join(t, t.c.user_id == users_table.c.id)
             .where(t.c.token_hash == token_hash, t.c.revoked_at.is_(None)))
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def _account_id(conn: Connection, username: str) -> int | None:
    uid = conn.execute(sa.select(users_table.c.id).where(users_table.c.username == username)
                       ).scalar_one_or_none()
    return None if uid is None else int(uid)
