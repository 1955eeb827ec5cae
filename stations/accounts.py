"""Union dashboard accounts: rows of the ``users`` table.

Only reading and writing; the rules (valid names, password length, hashing, roles, who may
log in) live in :mod:`webmap.users`, which calls these. Rows come back as dicts with the
``password_hash``: never hand them to a template or an API answer as they are.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from stations.schema import users_table

__all__ = [
    "add_account",
    "get_account",
    "list_accounts",
    "set_password_hash",
    "delete_account",
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
        conn.execute(users_table.delete().where(users_table.c.id == uid))
    return True


def _account_id(conn: Connection, username: str) -> int | None:
    uid = conn.execute(sa.select(users_table.c.id).where(users_table.c.username == username)
                       ).scalar_one_or_none()
    return None if uid is None else int(uid)
