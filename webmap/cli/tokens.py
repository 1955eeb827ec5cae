"""``nuanxin users token NAME [--revoke]``: API tokens for the union's own systems.

The token is printed once, alone on stdout (one line), so a script can capture it; the store
keeps only its SHA-256 (:mod:`webmap.auth`). ``--revoke`` ends every token of the account.
"""

from __future__ import annotations

import click

from webmap.cli.base import ready_store
from webmap.cli.web import users_group

__all__ = []


@users_group.command("token")
@click.argument("username")
@click.option("--revoke", is_flag=True,
              help="撤销该账号的全部令牌 (revoke every API token of the account)")
def users_token(username: str, revoke: bool) -> None:
    """新的 API 令牌 (print a new API token for USERNAME; `Authorization: Bearer TOKEN`)."""
    from webmap.auth import issue_token, revoke_tokens

    store = ready_store()
    try:
        if revoke:
            count = revoke_tokens(store, username)
            click.echo(f"已撤销 {username} 的 {count} 个令牌 (revoked {count} token(s))")
        else:
            click.echo(issue_token(store, username))
    finally:
        store.dispose()
